-- One fuzz child: calls every function of one group with hostile arguments, each call under
-- pcall. Run by Tests/lua/test_fuzz.lua in a child process, so a crash ends only the child;
-- before each call its description goes to `TMP/current` (flushed), so the parent can name
-- the call that killed the process.
--
--   lathe run Tests/lua/fuzz/child.lua --groups                 list the groups
--   lathe run Tests/lua/fuzz/child.lua GROUP TMP [--lean|--wide] [--random=N] [--seed=N]
--                                             [--from=N] [--only=N] [--list]
--
-- TMP is the folder to work in (hostile paths point into it; it is also the working folder).
-- --lean uses fewer values (for the AddressSanitizer build); --wide every hostile value where
-- one argument of a working call is replaced; --random=N random argument lists per function
-- (default 30); --seed=N other random lists (these three for searches longer than the test's);
-- --from=N starts at call N (the parent goes on past a crash this way); --only=N runs call N
-- alone (after the same set-up); --list prints the calls.
-- The report goes to TMP/report: one line per slow call or failed check, then a summary.
local here = debug.getinfo(1, "S").source:match("^@(.*)/child%.lua$") or "Tests/lua/fuzz"
package.path = here .. "/?.lua;" .. package.path
local H = require("hostile")
local SKIPS = require("skips")
local T = require("targets")

local group, tmp, lean, only, list, from, wide, random, seed
for i = 1, #arg do
  local a = arg[i]
  if a == "--lean" then lean = true
  elseif a == "--list" then list = true
  elseif a == "--groups" then group = "--groups"
  elseif a:match("^%-%-only=") then only = tonumber(a:match("=(.*)"))
  elseif a:match("^%-%-from=") then from = tonumber(a:match("=(.*)"))
  elseif a:match("^%-%-random=") then random = tonumber(a:match("=(.*)"))
  elseif a:match("^%-%-seed=") then seed = tonumber(a:match("=(.*)"))
  elseif a == "--wide" then wide = true
  elseif not group then group = a
  else tmp = a end
end

if group == "--groups" then
  for _, g in ipairs(T.groups()) do print(g) end
  os.exit(0)
end
assert(group and tmp, "usage: child.lua GROUP TMP [--lean] [--only=N] [--list]")

-- Examples make temporary files with os.tmpname (always under /tmp in stock Lua); here they
-- go into TMP, so nothing the fuzz writes lands outside it.
local tmpcount = 0
os.tmpname = function()
  tmpcount = tmpcount + 1
  local p = tmp .. "/tmpname-" .. tmpcount
  local f = assert(io.open(p, "w"))
  f:close()
  return p
end

-- fixtures the hostile paths name
os.execute("mkfifo '" .. tmp .. "/fifo' 2>/dev/null; mkdir -p '" .. tmp .. "/folder'")
do
  local f = assert(io.open(tmp .. "/empty.json", "w")) f:close()
  f = assert(io.open(tmp .. "/garbage.bin", "wb"))
  for i = 1, 4096 do f:write(string.char((i * 37 + 11) % 256)) end
  f:close()
end

local pool = H.values(tmp)
local mutators = wide and pool or lean and H.lean(pool) or H.core(pool)
local objects = H.objects()
local targets = T.of_group(group)
assert(#targets > 0, "no functions in group " .. group)

-- Record what the help examples pass to each target (working argument lists to mutate) and
-- keep the objects every Lathe function returns while they run.
local recorded, returned = T.record(targets, 2)
local seen_class = {}
for _, o in ipairs(objects) do seen_class[T.class_of(o[2]) or o[1]] = true end
for _, r in ipairs(returned) do
  local c = T.class_of(r)
  if c and not seen_class[c] then
    seen_class[c] = true
    objects[#objects + 1] = {"a " .. c .. " returned by an example", r}
  end
end

-- Short, stable descriptions of values for the log.
local names = {}
for _, p in ipairs(pool) do
  if type(p[2]) ~= "number" and p[2] ~= nil then names[p[2]] = p[1] end
end
for _, o in ipairs(objects) do names[o[2]] = o[1] end
local function describe(v, depth)
  local t = type(v)
  if t == "number" then
    if math.type(v) == "integer" then return tostring(v) end
    return string.format("%.17g", v) .. ((v == math.floor(v)) and " (float)" or "")
  end
  if t ~= "nil" and names[v] then return names[v] end
  if t == "string" then
    return #v > 40 and string.format("%q..(%d bytes)", v:sub(1, 30), #v) or string.format("%q", v)
  elseif t == "table" and not getmetatable(v) and (depth or 0) < 2 then
    local parts, count = {}, 0
    for k, x in pairs(v) do
      count = count + 1
      if count > 8 then parts[#parts + 1] = "..." break end
      parts[#parts + 1] = (type(k) == "string" and k or "[" .. describe(k, 2) .. "]") .. "=" .. describe(x, (depth or 0) + 1)
    end
    table.sort(parts)
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  return tostring(T.class_of(v) or t)
end
local function describe_call(name, args)
  local parts = {}
  for i = 1, args.n do parts[i] = describe(args[i]) end
  return name .. "(" .. table.concat(parts, ", ") .. ")"
end

-- The calls, in a fixed order.
local calls = T.calls(targets, recorded, {pool = pool, mutators = mutators, objects = objects,
  random = random or (lean and 6 or 30), seed = seed or 0})

if list then
  for i, c in ipairs(calls) do print(i, describe_call(c.target.name, c.args)) end
  os.exit(0)
end

local report = assert(io.open(tmp .. "/report", "w"))
local current = assert(io.open(tmp .. "/current", "w"))
local function note(line)
  current:seek("set", 0)
  current:write(line, "\n", string.rep(" ", 200), "\n")
  current:flush()
end

local slow_limit = tonumber(os.getenv("LATHE_FUZZ_SLOW") or "") or 3
local threads = lathe.threads()
local counts = {calls = 0, errors = 0, skipped = 0, failures = 0}
local function fail(msg)
  counts.failures = counts.failures + 1
  report:write("FAIL ", msg, "\n")
  report:flush()
end

lathe.seed(1)
for i, c in ipairs(calls) do
  if (not only or only == i) and (not from or i >= from) then
    local desc = describe_call(c.target.name, c.args)
    local skip = SKIPS.reason(c.target.name, c.args)
    if skip then
      counts.skipped = counts.skipped + 1
    else
      note(group .. " call " .. i .. ": " .. desc)
      local t0 = lathe.clock()
      -- the watchdog's Ctrl-C may surface in Swift (an error of the call) or, through Lua's
      -- hook, at the next Lua instruction: the outer pcall catches that one
      local outer, ok, r = pcall(function()
        local ok, r = pcall(c.target.fn, table.unpack(c.args, 1, c.args.n))
        if ok and type(r) == "userdata" then pcall(tostring, r) end
        return ok, r
      end)
      local dt = lathe.clock() - t0
      counts.calls = counts.calls + 1
      if not outer or not ok then counts.errors = counts.errors + 1 end
      local msg = not outer and ok or (not ok and r)
      if type(msg) == "string" and msg:find("interrupted!", 1, true) then
        fail(string.format("ran until Ctrl-C (%.1f s): call %d: %s", dt, i, desc))
      elseif dt > slow_limit then
        fail(string.format("slow (%.1f s): call %d: %s", dt, i, desc))
      end
      if lathe.swift_depth() ~= 0 then
        fail("a Swift frame was left on the stack after call " .. i .. ": " .. desc)
        break
      end
      -- process-wide settings the lathe module changes: back to the start
      if c.target.name == "lathe.threads" then lathe.threads(threads) end
      if c.target.name == "lathe.seed" then lathe.seed(1) end
      r = nil
    end
  end
end
note(group .. ": done")
report:write(string.format("fuzz %s: %d targets, %d calls, %d errors, %d skipped, %d failures\n",
  group, #targets, counts.calls, counts.errors, counts.skipped, counts.failures))
report:close()
os.exit(counts.failures == 0 and 0 or 1)
