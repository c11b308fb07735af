-- What the fuzz calls, and with what. The functions come from Lathe itself (its help registry
-- and its class metatables), so a new module or method is fuzzed without editing this file.
local T = {}

local registry = debug.getregistry()

--- The Lathe class name of a value (Tensor, Module...), or nil.
function T.class_of(v)
  if type(v) ~= "userdata" then return nil end
  local mt = getmetatable(v)
  if type(mt) == "table" and rawget(mt, "__methods") then return rawget(mt, "__name") end
  return nil
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b)
    if type(a) ~= type(b) then return type(a) < type(b) end
    if type(a) == "string" or type(a) == "number" then return a < b end
    return tostring(a) < tostring(b)
  end)
  return ks
end

-- Lathe classes: metatables in the registry whose objects dispatch methods.
local function classes()
  local out = {}
  for k, v in pairs(registry) do
    if type(k) == "string" and type(v) == "table" and rawget(v, "__methods") and rawget(v, "__gc") then
      out[#out + 1] = k
    end
  end
  table.sort(out)
  return out
end

-- module name -> sorted function names, from the help registry
local function modules()
  local mods = {}
  for _, name in ipairs(lathe.help_entries()) do
    local m, f = name:match("^([%w_]+)%.([%w_]+)$")
    if m and type(_G[m]) == "table" and type(_G[m][f]) == "function" then
      mods[m] = mods[m] or {}
      table.insert(mods[m], f)
    end
  end
  return mods
end

local function globals()
  local out = {}
  for _, name in ipairs(lathe.help_entries()) do
    if name:match("^[%w_]+$") and type(_G[name]) == "function" then out[#out + 1] = name end
  end
  return out
end

--- Group names: one per module, "globals", one per class with methods, and "metamethods"
--- (operators, fields, index and finalizers of every class, then calls on finalized objects).
function T.groups()
  local out = sorted_keys(modules())
  out[#out + 1] = "globals"
  for _, c in ipairs(classes()) do
    if next(registry[c].__methods) then out[#out + 1] = c end
  end
  out[#out + 1] = "metamethods"
  return out
end

--- The targets of a group: {name=, fn=, kind= "function"|"method"|"meta"|"getter"|"released",
--- class=}.
function T.of_group(g)
  local out = {}
  local mods = modules()
  if mods[g] then
    for _, f in ipairs(mods[g]) do
      out[#out + 1] = {name = g .. "." .. f, fn = _G[g][f], kind = "function"}
    end
  elseif g == "globals" then
    for _, n in ipairs(globals()) do out[#out + 1] = {name = n, fn = _G[n], kind = "function"} end
  elseif g == "metamethods" then
    local gc, released = {}, {}
    for _, c in ipairs(classes()) do
      local mt = registry[c]
      for _, f in ipairs(sorted_keys(rawget(mt, "__getters"))) do
        out[#out + 1] = {name = c .. "." .. f, fn = mt.__getters[f], kind = "getter", class = c}
      end
      for _, k in ipairs(sorted_keys(mt)) do
        local f = rawget(mt, k)
        if type(k) == "string" and k:sub(1, 2) == "__" and type(f) == "function" then
          local tg = {name = c .. "." .. k, fn = f, kind = "meta", class = c}
          if k == "__gc" then gc[#gc + 1] = tg else out[#out + 1] = tg end
        end
      end
      for _, m in ipairs(sorted_keys(rawget(mt, "__methods"))) do
        released[#released + 1] = {name = c .. ":" .. m .. " on a finalized object",
          fn = mt.__methods[m], kind = "released", class = c}
      end
    end
    -- finalizers run last on the fuzz's objects, then every method meets a finalized object
    for _, tg in ipairs(gc) do out[#out + 1] = tg end
    for _, tg in ipairs(released) do out[#out + 1] = tg end
  elseif registry[g] and rawget(registry[g], "__methods") then
    local mt = registry[g]
    for _, m in ipairs(sorted_keys(mt.__methods)) do
      out[#out + 1] = {name = g .. ":" .. m, fn = mt.__methods[m], kind = "method", class = g}
    end
  end
  return out
end

--- Runs the help examples of the targets with every Lathe function wrapped: returns, per
--- target name, up to `keep` argument lists the examples passed (working calls to mutate),
--- and one object of each class any function returned.
function T.record(targets, keep)
  local want = {}
  for _, tg in ipairs(targets) do want[tg.name] = true end
  local recorded, returned, seen = {}, {}, {}
  local restore = {}
  local function wrap(name, tbl, key)
    local f = tbl[key]
    tbl[key] = function(...)
      if want[name] then
        local r = recorded[name] or {}
        recorded[name] = r
        if #r < keep then r[#r + 1] = table.pack(...) end
      end
      local res = table.pack(f(...))
      for i = 1, res.n do
        local c = T.class_of(res[i])
        if c and not seen[c] then
          seen[c] = true
          returned[#returned + 1] = res[i]
        end
      end
      return table.unpack(res, 1, res.n)
    end
    restore[#restore + 1] = function() tbl[key] = f end
  end
  for m, fs in pairs(modules()) do
    for _, f in ipairs(fs) do wrap(m .. "." .. f, _G[m], f) end
  end
  for _, c in ipairs(classes()) do
    local ms = registry[c].__methods
    for _, m in ipairs(sorted_keys(ms)) do wrap(c .. ":" .. m, ms, m) end
  end
  local capture = lathe.capture
  for _, tg in ipairs(targets) do
    local ex = lathe.example(tg.name)
    if ex then
      local chunk = load(ex, "=example of " .. tg.name, "t", setmetatable({}, {__index = _G}))
      if chunk then
        lathe.seed(1)
        pcall(capture, chunk)
      end
    end
  end
  for i = #restore, 1, -1 do restore[i]() end
  return recorded, returned
end

local function is_plain_table(v)
  return type(v) == "table" and getmetatable(v) == nil
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local function replaced(args, pos, v)
  local a = table.pack(table.unpack(args, 1, args.n))
  a[pos] = v
  if pos > a.n then a.n = pos end
  return a
end

-- Calls emit(t') for each hostile variant of the plain table t: each field (all string keys,
-- the first three array slots) set to each mutator, an unknown option name, an appended
-- hostile element for short arrays, and the same inside nested plain tables.
local function mutate_table(t, emit, mutators, depth)
  local keys = {}
  for _, k in ipairs(sorted_keys(t)) do
    if type(k) ~= "number" or (math.type(k) == "integer" and k >= 1 and k <= 3) then keys[#keys + 1] = k end
  end
  for _, k in ipairs(keys) do
    for _, m in ipairs(mutators) do
      local c = copy(t)
      c[k] = m[2]
      emit(c)
    end
    if depth > 1 and is_plain_table(t[k]) then
      mutate_table(t[k], function(inner)
        local c = copy(t)
        c[k] = inner
        emit(c)
      end, mutators, depth - 1)
    end
  end
  local c = copy(t)
  c.zzz_fuzz_unknown = 1
  emit(c)
  local n = #t
  if n > 0 and n <= 16 then
    for _, m in ipairs(mutators) do
      if m[2] ~= nil then
        local a = copy(t)
        a[n + 1] = m[2]
        emit(a)
      end
    end
  end
end

local function hash(s)
  local h = 5381
  for i = 1, #s do h = (h * 33 + s:byte(i)) % 2147483647 end
  return h
end

-- an object of class c: from the recorded calls (their self) or the fuzz's objects
local function self_for(tg, recs, objects)
  if tg.kind == "function" then return nil end
  for _, r in ipairs(recs) do
    if T.class_of(r[1]) == tg.class then return r[1] end
  end
  for _, o in ipairs(objects) do
    if T.class_of(o[2]) == tg.class then return o[2] end
  end
  return nil
end

--- The calls for the targets: {target=, args=(packed)}. opts: pool (every hostile value),
--- mutators (the values that replace one argument of a working call), objects, random (how
--- many random argument lists per target), seed (added to each target's random seed).
function T.calls(targets, recorded, opts)
  local calls = {}
  for _, tg in ipairs(targets) do
    local recs = recorded[tg.name] or {}
    local function add(args) calls[#calls + 1] = {target = tg, args = args} end
    local self = self_for(tg, recs, opts.objects)
    local function with_self(...)
      if self ~= nil then return table.pack(self, ...) end
      return table.pack(...)
    end
    add(table.pack())
    if self ~= nil then add(with_self()) end
    -- one hostile argument
    for _, p in ipairs(opts.pool) do add(with_self(p[2])) end
    for _, o in ipairs(opts.objects) do add(with_self(o[2])) end
    if self ~= nil then
      -- a wrong self
      for _, p in ipairs(opts.mutators) do add(table.pack(p[2])) end
      for _, o in ipairs(opts.objects) do add(table.pack(o[2])) end
    end
    -- working calls with one argument or one option made hostile
    local first = self ~= nil and 2 or 1
    for k, r in ipairs(recs) do
      if k == 1 then
        -- and with 5000 more arguments (functions that pass their varargs on must make room)
        local a = table.pack(table.unpack(r, 1, r.n))
        for i = 1, 5000 do a[r.n + i] = i end
        a.n = r.n + 5000
        add(a)
      end
      for pos = first, r.n + 1 do
        for _, p in ipairs(opts.mutators) do add(replaced(r, pos, p[2])) end
        for _, o in ipairs(opts.objects) do add(replaced(r, pos, o[2])) end
      end
      for pos = first, r.n do
        if is_plain_table(r[pos]) then
          mutate_table(r[pos], function(t) add(replaced(r, pos, t)) end, opts.mutators, 2)
        end
      end
    end
    -- random argument lists from everything above and the recorded arguments, and working
    -- calls with several hostile values at once
    local choices = {}
    for _, p in ipairs(opts.pool) do choices[#choices + 1] = p[2] end
    for _, o in ipairs(opts.objects) do choices[#choices + 1] = o[2] end
    for _, r in ipairs(recs) do
      for i = 1, r.n do choices[#choices + 1] = r[i] end
    end
    math.randomseed(hash(tg.name) + (opts.seed or 0))
    for k = 1, opts.random do
      if #recs > 0 and k % 2 == 0 then
        -- a working call with one to three arguments or options made hostile at once
        local r = recs[math.random(1, #recs)]
        local a = table.pack(table.unpack(r, 1, r.n))
        for _ = 1, math.random(1, 3) do
          local pos = math.random(first, a.n + 1)
          local v = choices[math.random(1, #choices)]
          if is_plain_table(a[pos]) and math.random() < 0.7 then
            local t = copy(a[pos])
            local keys = sorted_keys(t)
            t[#keys > 0 and keys[math.random(1, #keys)] or "zzz_fuzz_unknown"] = v
            a[pos] = t
          else
            a[pos] = v
            if pos > a.n then a.n = pos end
          end
        end
        add(a)
      else
        local n = math.random(1, 4)
        local a = {n = 0}
        if self ~= nil then a[1] = self a.n = 1 end
        for _ = 1, n do
          a.n = a.n + 1
          a[a.n] = choices[math.random(1, #choices)]
        end
        add(a)
      end
    end
  end
  return calls
end

return T
