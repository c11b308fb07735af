-- Every function reachable from Lathe's globals (module functions, methods, operators, fields,
-- finalizers) called with hostile arguments: the process must survive each call, finish each
-- within seconds, and leave no Swift frame behind. One child process per group
-- (Tests/lua/fuzz/child.lua) under `timeout`, in a temporary folder as its working folder,
-- with memory capped (3 GB) so unchecked allocations sized by user numbers fail loudly;
-- as root the child runs as `nobody`, so hostile paths such as "/" cannot be written (or, when
-- nobody cannot run the binary, "/" is left out).
-- A crash or hang names the call that caused it; the parent then goes on from the next call,
-- so one run lists every crash of a group.
--
-- LATHE_FUZZ_LEAN=1: fewer hostile values (the AddressSanitizer run, scripts/test-asan).
-- LATHE_FUZZ_ARGS="--wide --random=300": a longer search (see child.lua).
-- LATHE_FUZZ_GROUPS="tensor Tensor": only these groups. LATHE_FUZZ_CALL_LIMIT: seconds one call
-- may run before the watchdog sends Ctrl-C (default 10; a call that ignores it is killed 10 s
-- later and reported as a hang). LATHE_FUZZ_TIMEOUT: seconds per child process (default 300).
-- LATHE_FUZZ_SLOW: seconds past which a finished call is reported as slow (default 3).
-- LATHE_FUZZ_MEMORY_KB: the memory cap per child (T.memory_cap: ulimit -v, or under ASan
-- LATHE_MEMORY_LIMIT and the sanitizer's allocation limit).
local T = require("testlib")
package.path = T.root .. "/Tests/lua/fuzz/?.lua;" .. package.path
local targets = require("targets")

-- the child runs in another folder: absolute paths to the binary and the scripts
local function absolute(p)
  local cmd = p:find("/", 1, true) and "realpath " or "command -v "
  return ((T.run(cmd .. T.sh_quote(p))):gsub("\n$", ""))
end
local bin = absolute(T.bin)
local here = absolute(T.root .. "/Tests/lua/fuzz")

local lean = os.getenv("LATHE_FUZZ_LEAN") == "1"
local extra = os.getenv("LATHE_FUZZ_ARGS") and " " .. os.getenv("LATHE_FUZZ_ARGS") or ""
local timeout = tonumber(os.getenv("LATHE_FUZZ_TIMEOUT") or "") or 300
local call_limit = tonumber(os.getenv("LATHE_FUZZ_CALL_LIMIT") or "") or 10
local vmem = tonumber(os.getenv("LATHE_FUZZ_MEMORY_KB") or "") or 3000000
-- as root the children run as nobody, when nobody can run the binary (a checkout under /root
-- cannot be); otherwise they run as root and the fuzz leaves "/" out of its hostile paths
local as_nobody = false
if (T.run("id -u")):match("^0\n") and os.execute("command -v setpriv >/dev/null") then
  local _, _, st = T.run("setpriv --reuid=65534 --regid=65534 --clear-groups " .. T.sh_quote(bin) .. " -e ''")
  as_nobody = st == 0
end

-- The lines of a crash report that say what and where: the Swift fatal error or the
-- sanitizer's finding, then the first frames in Lathe's sources (else the last lines).
local function crash_summary(stderr)
  local out, frames = {}, 0
  for l in stderr:gmatch("[^\n]+") do
    if l:find("Fatal error", 1, true) or l:find("Program crashed", 1, true) or l:find("ERROR: AddressSanitizer", 1, true)
      or l:find("SUMMARY:", 1, true) or l:find("^lathe: ") then
      out[#out + 1] = l
    elseif l:find("/Sources/", 1, true) and frames < 5 then
      frames = frames + 1
      out[#out + 1] = l:gsub("^%s+", "")
    end
  end
  if #out == 0 then
    local lines = {}
    for l in stderr:gmatch("[^\n]+") do lines[#lines + 1] = l end
    for i = math.max(1, #lines - 5), #lines do out[#out + 1] = lines[i] end
  end
  return table.concat(out, "\n    ")
end

-- Runs one group from call `from` under the watchdog (Tests/lua/fuzz/watch.sh); returns the
-- exit status, the report, the last call begun, the child's stderr and the watchdog's log.
local function run_child(group, dir, from)
  local cmd = "cd " .. T.sh_quote(dir) .. " && " .. T.memory_cap(vmem) .. "timeout -k 5 " .. timeout .. " " ..
    T.sh_quote(here .. "/watch.sh") .. " " .. T.sh_quote(dir) .. " " .. call_limit .. " " ..
    (as_nobody and "setpriv --reuid=65534 --regid=65534 --clear-groups " or "") ..
    T.sh_quote(bin) .. " run " .. T.sh_quote(here .. "/child.lua") .. " " .. T.sh_quote(group) .. " " ..
    T.sh_quote(dir) .. (lean and " --lean" or "") .. extra .. " --from=" .. from ..
    " >/dev/null 2>" .. T.sh_quote(dir .. "/stderr")
  local ok, how, code = os.execute(cmd)
  local status = how == "exit" and code or 128 + (code or 0)
  local function read(name)
    local f = io.open(dir .. "/" .. name, "rb")
    if not f then return "" end
    local s = f:read("a")
    f:close()
    os.remove(dir .. "/" .. name)
    return s
  end
  return status, read("report"), (read("current"):match("^[^\n]*")), read("stderr"), read("watchdog")
end

-- Where a crash happened: the first frame in Lathe's sources (file:line), else its first line.
local function crash_site(summary)
  return summary:match("Sources/[%w_/]+%.%a+:%d+") or summary:match("^[^\n]*")
end

local function fuzz_group(group)
  local dir = T.tmpdir()
  os.execute("chmod 777 " .. T.sh_quote(dir))
  local problems, sites = {}, {}
  local from, summary = 1, nil
  for _ = 1, 40 do
    local status, report, last, stderr, watchdog = run_child(group, dir, from)
    for line in report:gmatch("[^\n]+") do
      if line:match("^FAIL ") then problems[#problems + 1] = line:sub(6) end
      if line:match("^fuzz ") then summary = line end
    end
    if status == 0 or status == 1 and summary then break end
    local n = last and tonumber(last:match(" call (%d+): "))
    local what = watchdog:find("killed: ", 1, true) and "hung (Ctrl-C did not stop it)" or
      status == 124 and "did not finish in " .. timeout .. " s" or "crashed (exit status " .. status .. ")"
    local info = crash_summary(stderr)
    -- one entry per place: the same bug met with other arguments is counted, not repeated
    local site = what .. " at " .. crash_site(info)
    if sites[site] then
      sites[site].count = sites[site].count + 1
    else
      sites[site] = {count = 1}
      problems[#problems + 1] = sites[site]
      sites[site].text = what .. " in " .. tostring(last) .. "\n    " .. info
    end
    if not n then break end
    from = n + 1
  end
  os.execute("rm -rf " .. T.sh_quote(dir))
  for i, p in ipairs(problems) do
    if type(p) == "table" then
      problems[i] = p.text .. (p.count > 1 and "\n    (and " .. (p.count - 1) .. " more calls failing at the same place)" or "")
    end
  end
  if #problems > 0 then
    T.fail(#problems .. " problems (rerun one call: lathe run Tests/lua/fuzz/child.lua " .. group ..
      " DIR --only=N):\n  " .. table.concat(problems, "\n  "))
  end
  T.ok(summary, "the child wrote its summary")
  if os.getenv("LATHE_TEST_VERBOSE") then print(summary) end
end

local only = os.getenv("LATHE_FUZZ_GROUPS")
local wanted = nil
if only and only ~= "" then
  wanted = {}
  for g in only:gmatch("%S+") do wanted[g] = true end
end
for _, g in ipairs(targets.groups()) do
  if not wanted or wanted[g] then
    T.test("fuzz " .. g .. ": hostile arguments never crash, hang or leave Swift frames", function()
      fuzz_group(g)
    end)
  end
end

-- The long calls the fuzz leaves out (Tests/lua/fuzz/skips.lua) are left out because they are
-- correct; each must still stop at Ctrl-C.
T.test("fuzz skips: each long computation the fuzz leaves out stops at Ctrl-C", function()
  local skips = require("skips")
  local names = {}
  for name in pairs(skips.list) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    for _, s in ipairs(skips.list[name]) do
      T.ok(s.why and s.interrupt, name .. ": a skip says why and how to interrupt it")
      local t0 = lathe.clock()
      -- in a temporary folder: an interrupted training saves a checkpoint where it runs
      local dir = T.tmpdir()
      local out, err, status = T.run("(cd " .. T.sh_quote(dir) .. " && { timeout -k 2 30 " .. T.sh_quote(bin) .. " -e " ..
        T.sh_quote(s.interrupt) .. " & p=$!; sleep 1; kill -INT $p; wait $p; })")
      os.execute("rm -rf " .. T.sh_quote(dir))
      T.ok(err:find("interrupted!", 1, true) or out:find("stopped", 1, true),
        name .. ": stopped by Ctrl-C (status " .. status .. "): " .. out .. err)
      T.ok(lathe.clock() - t0 < 20, name .. ": stopped within seconds")
    end
  end
end)
