-- Runs Lathe's Lua-level tests: every Tests/lua/test_*.lua (or the files given as
-- arguments), each test isolated in pcall. Prints one line per failure and a summary
-- "N passed, N failed". Exit status 1 when anything failed.
local here = debug.getinfo(1, "S").source:match("^@(.*)/run%.lua$") or "Tests/lua"
package.path = here .. "/?.lua;" .. package.path
local T = require("testlib")

local files = {}
local filter = nil
for i = 1, #arg do
  if arg[i]:match("^%-%-filter=") then filter = arg[i]:match("^%-%-filter=(.*)$")
  else files[#files + 1] = arg[i] end
end
if #files == 0 then
  local p = io.popen("ls '" .. here .. "'/test_*.lua 2>/dev/null")
  for line in p:lines() do files[#files + 1] = line end
  p:close()
end

local load_failures = 0
for _, f in ipairs(files) do
  T.current_file = f:match("([^/]+)$")
  local chunk, err = loadfile(f)
  if not chunk then
    io.stderr:write("FAIL ", f, ": ", err, "\n")
    load_failures = load_failures + 1
  else
    local ok, e = pcall(chunk)
    if not ok then
      io.stderr:write("FAIL ", f, " (loading): ", tostring(e), "\n")
      load_failures = load_failures + 1
    end
  end
end

local passed, failed, skipped = 0, load_failures, 0
local verbose = os.getenv("LATHE_TEST_VERBOSE")
for _, t in ipairs(T.tests) do
  local full = t.file .. ": " .. t.name
  if not filter or full:find(filter, 1, true) then
    local ok, err = xpcall(t.fn, function(e) return T.is_skip(e) and e or debug.traceback(e) end)
    if not ok and T.is_skip(err) then
      skipped = skipped + 1
      print("skip " .. full .. ": " .. err.reason)
    elseif ok then
      passed = passed + 1
      if verbose then print("ok   " .. full) end
    else
      failed = failed + 1
      io.stderr:write("FAIL " .. full .. "\n  " .. tostring(err):gsub("\n", "\n  ") .. "\n")
    end
    collectgarbage()
  end
end
print(string.format("lua: %d passed, %d failed, %d skipped", passed, failed, skipped))
os.exit(failed == 0 and 0 or 1)
