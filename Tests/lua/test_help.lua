-- Every documented function has help text and a runnable example; run them all.
local T = require("testlib")

T.test("every help entry has an example that runs", function()
  local names = lathe.help_entries()
  T.ok(#names >= 5, "there are help entries")
  local failures = {}
  local olddir = os.getenv("PWD")
  for _, name in ipairs(names) do
    local ex = lathe.example(name)
    if not ex or ex == "" then
      failures[#failures + 1] = name .. ": no example"
    else
      local chunk, err = load(ex, "=example of " .. name, "t", setmetatable({}, {__index = _G}))
      if not chunk then
        failures[#failures + 1] = name .. ": " .. err
      else
        -- examples print; keep the test output readable
        local ok, e = pcall(lathe.capture, chunk)
        if not ok then failures[#failures + 1] = name .. ": " .. tostring(e) end
      end
    end
  end
  if #failures > 0 then error(#failures .. " examples failed:\n" .. table.concat(failures, "\n")) end
end)

T.test("help() lists modules; help(f) shows the entry", function()
  local out = T.lathe("-e 'help()'")
  T.ok(out:find("Modules:", 1, true) and out:find("lathe", 1, true), out)
  local out2 = T.lathe("-e 'help(lathe.seed)'")
  T.ok(out2:find("lathe.seed([n]) -> integer or nothing", 1, true), out2)
  T.ok(out2:find("Example:", 1, true), out2)
  local out3 = T.lathe("-e 'help(\"lathe\")'")
  T.ok(out3:find("lathe.threads", 1, true), out3)
  local out4 = T.lathe("-e 'help(42)'")
  T.ok(out4:find("no documentation", 1, true), out4)
end)
