-- A small test library for Lathe's Lua-level tests (run through the real binary).
--   local T = require("testlib")
--   T.test("name", function() T.eq(1 + 1, 2) end)
-- Tests/lua/run.lua loads every test_*.lua file and prints "N passed, N failed".
local T = {}
T.tests = {}

function T.test(name, fn)
  T.tests[#T.tests + 1] = { name = name, fn = fn, file = T.current_file }
end

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

-- Ends the running test as skipped (counted apart; a skip must say why). Use it only for what
-- the machine cannot do (a CPU feature), never for a tool the set-up installs.
local SKIP = {}
function T.skip(reason)
  error(setmetatable({reason = reason}, SKIP), 2)
end
function T.is_skip(e) return getmetatable(e) == SKIP end

function T.fail(msg, level)
  error(msg, (level or 1) + 1)
end

function T.ok(cond, msg)
  if not cond then error("expected a true value" .. (msg and (": " .. msg) or ""), 2) end
end

function T.eq(got, want, msg)
  if got ~= want then
    error(string.format("expected %s, got %s%s", show(want), show(got), msg and (" (" .. msg .. ")") or ""), 2)
  end
end

-- The one comparison of numbers: |got - want| <= tol * max(1, |want|), written so that NaN fails
-- it (NaN matches only NaN) and equal infinities pass.
function T.close(got, want, tol)
  if type(got) ~= "number" or type(want) ~= "number" then return false end
  if got ~= got or want ~= want then return got ~= got and want ~= want end
  if got == want then return true end
  if math.abs(got) == math.huge or math.abs(want) == math.huge then return false end
  local ok = math.abs(got - want) <= tol * math.max(1, math.abs(want))
  return ok
end

-- The largest error between two arrays (or tensors, or nested tables) of numbers, as T.close
-- measures it (relative to max(1, |want|)); math.huge when the shapes differ or NaN meets a number.
function T.max_error(got, want)
  if type(got) == "userdata" and got.totable then got = got:totable() end
  if type(want) == "userdata" and want.totable then want = want:totable() end
  if type(got) == "number" and type(want) == "number" then
    if got ~= got or want ~= want then return (got ~= got and want ~= want) and 0 or math.huge end
    if got == want then return 0 end
    if math.abs(got) == math.huge or math.abs(want) == math.huge then return math.huge end
    local e = math.abs(got - want) / math.max(1, math.abs(want))
    return e == e and e or math.huge
  end
  if type(got) ~= "table" or type(want) ~= "table" or #got ~= #want then return math.huge end
  local worst = 0
  for i = 1, #want do
    local e = T.max_error(got[i], want[i])
    if not (e <= worst) then worst = e end
  end
  return worst
end

function T.near(got, want, tol, msg)
  tol = tol or 1e-6
  if not T.close(got, want, tol) then
    error(string.format("expected %s within %g, got %s%s", show(want), tol, show(got), msg and (" (" .. msg .. ")") or ""), 2)
  end
end

-- deep equality for plain tables
local function deq(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  for k, v in pairs(a) do if not deq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end
T.deep_equal = deq

function T.same(got, want, msg)
  if not deq(got, want) then
    local ok, printed = pcall(function()
      local function s(x)
        if type(x) ~= "table" then return show(x) end
        local parts = {}
        for k, v in pairs(x) do parts[#parts + 1] = tostring(k) .. "=" .. s(v) end
        table.sort(parts)
        return "{" .. table.concat(parts, ", ") .. "}"
      end
      return "expected " .. s(want) .. ", got " .. s(got)
    end)
    error((ok and printed or "tables differ") .. (msg and (" (" .. msg .. ")") or ""), 2)
  end
end

-- fn must raise an error whose message contains `pattern` (plain text match).
function T.raises(fn, pattern, msg)
  local ok, err = pcall(fn)
  if ok then error("expected an error" .. (pattern and (" containing '" .. pattern .. "'") or "") .. ", got none", 2) end
  err = tostring(err)
  if pattern and not err:find(pattern, 1, true) then
    error(string.format("expected an error containing %q, got %q%s", pattern, err, msg and (" (" .. msg .. ")") or ""), 2)
  end
  return err
end

function T.tmpdir()
  local p = os.tmpname()
  os.remove(p)
  assert(os.execute("mkdir -p '" .. p .. "'"))
  return p
end

function T.read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

function T.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- the repository root (Tests/lua/..)
T.root = (debug.getinfo(1, "S").source:match("^@(.*)/Tests/lua/testlib%.lua$")) or "."

-- A shell prefix that caps a child's memory at `kb` KiB: `ulimit -v`, or, under
-- AddressSanitizer (LATHE_SANITIZER=address, set by scripts/test-asan), whose shadow memory
-- needs terabytes of address space, Lathe's own cap and the sanitizer's allocation limit
-- (allocations past it return NULL, as under ulimit).
T.sanitizer = os.getenv("LATHE_SANITIZER")
function T.memory_cap(kb)
  if T.sanitizer then
    return "LATHE_MEMORY_LIMIT=" .. kb .. "K ASAN_OPTIONS=${ASAN_OPTIONS:-}:allocator_may_return_null=1:max_allocation_size_mb=" ..
      (kb // 1024) .. " "
  end
  return "ulimit -v " .. kb .. "; "
end

-- the lathe binary running the tests, and a helper to run it in a shell
T.bin = (arg and arg[-1]) or "lathe"
function T.sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
-- Runs a shell command; returns stdout, stderr and the exit status.
function T.run(cmd, stdin)
  local dir = T.tmpdir()
  local full = cmd .. " >" .. dir .. "/out 2>" .. dir .. "/err"
  if stdin then
    T.write(dir .. "/in", stdin)
    full = full .. " <" .. dir .. "/in"
  else
    full = full .. " </dev/null"
  end
  local ok, how, code = os.execute(full)
  local out, err = T.read(dir .. "/out"), T.read(dir .. "/err")
  os.execute("rm -rf '" .. dir .. "'")
  return out, err, (how == "exit" and code or 128 + (code or 0))
end
-- Runs `lathe ARGS`.
function T.lathe(args, stdin)
  return T.run(T.sh_quote(T.bin) .. " " .. args, stdin)
end

return T
