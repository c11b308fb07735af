-- Lathe's Lua-side start-up: runs once in every new state, after the Swift modules are
-- installed. Conveniences that read better in Lua live in stdlib/lathe/*.lua; each is loaded
-- the first time one of its functions is looked up (`lora.check_peft` loads lathe/peft.lua),
-- so start-up reads none of them. help(), the API reference and Tab completion load them all
-- first (lathe.load_conveniences), so every function is documented before its first use.

-- module -> function name -> the file (a require name) that defines it
local conveniences = {
  lora = {check_peft = "lathe.peft"},
  tune = {cv = "lathe.tune_cv"},
}

local files = {}
for module, names in pairs(conveniences) do
  local t = assert(_G[module], module)
  for _, file in pairs(names) do files[file] = true end
  setmetatable(t, {__index = function(_, key)
    local file = names[key]
    if file == nil then return nil end
    require(file)
    return rawget(t, key)
  end})
end

local function load_conveniences()
  for file in pairs(files) do require(file) end
  local names = {}
  for module, fs in pairs(conveniences) do
    for name in pairs(fs) do names[#names + 1] = module .. "." .. name end
  end
  table.sort(names)
  return names
end
lathe.load_conveniences = load_conveniences
lathe.doc(load_conveniences, "lathe.load_conveniences", {
  summary = "Loads every Lua convenience of stdlib/lathe now (each loads by itself on first use).",
  signature = "lathe.load_conveniences() -> names",
  returns = "the sorted names of the functions written in Lua (e.g. \"lora.check_peft\")",
  details = "help(), lathe.api_reference() and Tab completion call it, so those functions are listed and\ndocumented before their first use.",
  example = "local names = lathe.load_conveniences()\nprint(names[1])  --> lora.check_peft",
})
