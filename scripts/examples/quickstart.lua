-- Lathe workshop quickstart: a short tour of the shell.
-- Run it with:  lathe run scripts/examples/quickstart.lua
-- Or step through it at the prompt: each "-- %%" line starts a cell you can paste.

-- %%
-- One seed drives every random draw, so this script prints the same numbers every run.
lathe.seed(42)
print("Lathe " .. lathe.version .. " on Lua " .. _VERSION:match("%d+%.%d+"))

-- %%
-- Tables print readably, nested and aligned (show() prints what the prompt would).
plan = {
  data    = {source = "sms-spam.csv", rows = 4837, split = {train = 0.7, val = 0.2, test = 0.1}},
  model   = {name = "all-MiniLM-L6-v2", method = "lora", r = 8},
  budget  = {hours = 2, usd = 10},
}
show(plan)

-- %%
-- help() documents every function with an example.
help(lathe.seed)

-- %%
-- lathe.capture keeps printed output in a variable (handy for reports).
local text = lathe.capture(function() show({1, 2, 3}) end)
print("captured: " .. text)
