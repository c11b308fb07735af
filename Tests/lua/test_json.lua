-- The json module: decoding, encoding, round trips, and the errors a person meets.
local T = require("testlib")

T.test("decode: kinds, integers vs floats, escapes, duplicates, null", function()
  local v = json.decode('{"s": "tab\\t \\"q\\" \\u00e9 \\ud83d\\ude00", "i": 42, "f": 42.0, "e": 1e2, "neg": -0, "big": 9223372036854775807, "min": -9223372036854775808, "huge": 18446744073709551616, "b": [true, false, null], "d": 1, "d": 2}')
  T.eq(v.s, 'tab\t "q" é 😀')
  T.eq(math.type(v.i), "integer")
  T.eq(math.type(v.f), "float")
  T.eq(math.type(v.e), "float")
  T.eq(v.e, 100.0)
  T.eq(math.type(v.neg), "integer")
  T.eq(v.big, math.maxinteger)
  T.eq(v.min, math.mininteger)
  T.eq(math.type(v.huge), "float")   -- beyond 64 bits: the nearest double
  T.eq(v.huge, 2.0^64)
  T.same(v.b, {true, false, json.null})
  T.eq(v.d, 2)                        -- the last duplicate wins, as in Python
  T.eq(tostring(json.null), "json.null")
  T.raises(function() json.null.x = 1 end, "json.null is read-only")
  -- null options
  T.eq(json.decode("[1, null]", {null = data.NA})[2], data.NA)
  local holes = json.decode('[1, null, 3]', {drop_null = true})
  T.eq(holes[2], nil)
  T.eq(holes[3], 3)
  T.same(json.decode('{"a": 1, "a": null, "b": null}', {drop_null = true}), {})
  T.raises(function() json.decode("[]", {drop_null = true, null = false}) end, "bad option 'drop_null' (give null = value or drop_null = true, not both)")
  -- scalars at the top level
  T.eq(json.decode('"x"'), "x")
  T.eq(json.decode(" 1.5 "), 1.5)
  T.eq(json.decode("null"), json.null)
end)

T.test("encode: arrays vs objects, markers, sorted keys, indent, ascii", function()
  T.eq(json.encode({3, 2, 1}), "[3,2,1]")
  T.eq(json.encode({b = 1, a = {x = true}}), '{"a":{"x":true},"b":1}')
  T.eq(json.encode({}), "[]")
  T.eq(json.encode(json.object()), "{}")
  T.eq(json.encode(json.array({})), "[]")
  T.eq(json.encode({x = json.null, y = data.NA}), '{"x":null,"y":null}')
  T.eq(json.encode(nil), "null")
  T.eq(json.encode("é\u{7f}\n"), '"é\u{7f}\\n"')
  T.eq(json.encode("é😀\u{7f}", {ascii = true}), '"\\u00e9\\ud83d\\ude00\\u007f"')
  T.eq(json.encode({a = {1, {}}, b = json.object()}, {indent = 2}), '{\n  "a": [\n    1,\n    []\n  ],\n  "b": {}\n}')
  T.eq(json.encode({1, 2}, {indent = 0}), "[\n1,\n2\n]")
  local unsorted = json.encode({a = 1, b = 2, c = 3}, {sort_keys = false})
  T.same(json.decode(unsorted), {a = 1, b = 2, c = 3})
  -- decoded tables keep their kind, empty ones included
  T.eq(json.encode(json.decode('{"a": {}, "b": [], "c": [{}]}')), '{"a":{},"b":[],"c":[{}]}')
  T.eq(getmetatable(json.decode("{}")).__jsontype, "object")
  T.eq(getmetatable(json.decode("[]")).__jsontype, "array")
  T.raises(function() json.array(setmetatable({}, {})) end, "json.array: bad argument #1 't' (the table already has a metatable; json.array would replace it)")
  T.raises(function() json.object(5) end, "json.object: bad argument #1 't' (expected table, got integer 5)")
  T.raises(function() json.encode(json.array({a = 1})) end, "json.encode: the array at $ has the key \"a\" (an array has only keys 1..n)")
  T.raises(function() json.encode({x = json.object({1})}) end, "json.encode: the object at $.x has the key 1 (object keys are strings)")
end)

T.test("numbers: integers stay integers, floats are the shortest text that reads back", function()
  local known = {
    {0.1, "0.1"}, {3.0, "3.0"}, {-0.0, "-0.0"}, {1e-7, "1e-07"}, {5e-324, "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308"}, {1 / 3, "0.3333333333333333"}, {0.1 + 0.2, "0.30000000000000004"},
    {1e16, "1e+16"}, {2.0^53, "9007199254740992.0"}, {100.0, "100.0"}, {math.maxinteger, "9223372036854775807"}, {-7, "-7"},
  }
  for _, k in ipairs(known) do T.eq(json.encode(k[1]), k[2]) end
  -- random doubles from random bits: the text reads back bit for bit and has at most 17 digits
  math.randomseed(99)
  local n = 0
  while n < 2000 do
    local x = string.unpack("<d", string.pack("<i4i4", math.random(-2^31, 2^31 - 1), math.random(-2^31, 2^31 - 1)))
    if x == x and x ~= math.huge and x ~= -math.huge then
      n = n + 1
      local s = json.encode(x)
      local back = json.decode(s)
      T.eq(string.pack("<d", back), string.pack("<d", x), s)
      local digits = s:gsub("[eE].*$", ""):gsub("[^0-9]", ""):gsub("^0+", "")
      T.ok(#digits <= 17, s)
    end
  end
end)

T.test("round trips: decode(encode(v)) and encode(decode(text))", function()
  local texts = {
    '{"a":[1,2.5,"x",true,false,null,{},[]],"b":{"c":{"d":[[]]}},"e":""}',
    '[{"k":"\\u0000\\u001f\\"\\\\/\\b\\f\\n\\r\\t"},-1.5e-300,1e+300]',
    '{"unicode":"日本語 ✓ 😀","keys":{"ü":1,"😀":2," ":3,"":4}}',
  }
  for _, s in ipairs(texts) do
    local v = json.decode(s)
    T.same(json.decode(json.encode(v)), v)
    T.eq(json.encode(json.decode(json.encode(v))), json.encode(v))
  end
  T.eq(json.encode(json.decode(texts[1])), '{"a":[1,2.5,"x",true,false,null,{},[]],"b":{"c":{"d":[[]]}},"e":""}')
end)

T.test("NaN and infinity: errors naming the path unless allow_nan", function()
  T.raises(function() json.encode({a = {b = {1, 0 / 0}}}) end, "json.encode: NaN at $.a.b[2] is not valid JSON (pass allow_nan = true")
  T.raises(function() json.encode({["odd key"] = math.huge}) end, 'json.encode: inf at $["odd key"] is not valid JSON')
  T.eq(json.encode({0 / 0, math.huge, -math.huge}, {allow_nan = true}), "[NaN,Infinity,-Infinity]")
  T.raises(function() json.decode("[NaN]") end, "json.decode: invalid JSON at line 1, column 2: unexpected 'N' (expected a value; NaN and Infinity are not JSON)")
  local v = json.decode("[NaN, Infinity, -Infinity]", {allow_nan = true})
  T.ok(v[1] ~= v[1], "NaN")
  T.eq(v[2], math.huge)
  T.eq(v[3], -math.huge)
end)

T.test("encode errors: keys, holes, mixed tables, cycles, depth, UTF-8, values JSON cannot hold", function()
  T.raises(function() json.encode({[true] = 1}) end, "json.encode: key boolean true at $ cannot be written as JSON (object keys are strings; an array has keys 1..n)")
  T.raises(function() json.encode({x = {[1.5] = 1}}) end, "key number 1.5 at $.x cannot be written as JSON")
  T.raises(function() json.encode({x = {[1] = 1, [3] = 3}}) end, "json.encode: the table at $.x has integer keys with holes (2 values, largest key 3)")
  T.raises(function() json.encode({1, 2, name = "x"}) end, "json.encode: the table at $ mixes keys 1..n with names")
  local t = {}
  t.self = t
  T.raises(function() json.encode({a = {t}}) end, "json.encode: a cycle at $.a[1].self: the table contains itself")
  local shared = {1}
  T.eq(json.encode({shared, shared}), "[[1],[1]]")   -- the same table twice is not a cycle
  local deep = {}
  local cur = deep
  for _ = 1, 199 do cur[1] = {}; cur = cur[1] end
  T.eq(#json.encode(deep), 400)                        -- 200 levels are fine
  cur[1] = {}
  T.raises(function() json.encode(deep) end, "json.encode: nested deeper than 200 levels at $[1][1][1][1][1][1][...190 more...][1][1][1][1]")
  T.raises(function() json.encode({s = "caf\233"}) end, "json.encode: the string at $.s is not valid UTF-8 (byte 0xE9 at offset 4)")
  T.raises(function() json.encode({["k\255"] = 1}) end, "json.encode: a key at $ is not valid UTF-8 (byte 0xFF at offset 2)")
  T.raises(function() json.encode({f = print}) end, "json.encode: a function at $.f cannot be written as JSON")
  T.raises(function() json.encode({t = data.from({a = {1}})}) end, "json.encode: a DataTable at $.t cannot be written as JSON")
  T.raises(function() json.encode({}, {indent = -1}) end, "bad option 'indent' (expected integer in 0..64, got integer -1)")
  T.raises(function() json.encode({}, {indnt = 2}) end, "unknown option 'indnt'; did you mean 'indent'?")
end)

T.test("decode errors name line and column", function()
  local cases = {
    {'{"a": 1,\n "b": 2,}', "invalid JSON at line 2, column 9: expected a string key, got '}'"},
    {"[1, 2", "invalid JSON at line 1, column 6: unexpected end of text (expected ',' or ']')"},
    {"// c\n[]", "invalid JSON at line 1, column 1: unexpected '/' (expected a value)"},
    {'"\\ud800"', "invalid JSON at line 1, column 8: lone leading surrogate in a \\u escape"},
    {'"\\udc00"', "invalid JSON at line 1, column 8: lone trailing surrogate in a \\u escape"},
    {"[1] x", "invalid JSON at line 1, column 5: unexpected 'x' after the end of the value"},
    {"", "invalid JSON at line 1, column 1: unexpected end of text (expected a value)"},
    {'["caf\233"]', "invalid JSON at line 1, column 6: invalid UTF-8"},
    {"[01]", "invalid JSON at line 1, column 3: expected ',' or ']', got '1'"},
    {string.rep("[", 201) .. string.rep("]", 201), "invalid JSON at line 1, column 201: nested deeper than 200 levels"},
  }
  for _, c in ipairs(cases) do T.raises(function() json.decode(c[1]) end, "json.decode: " .. c[2]) end
  T.eq(#json.encode(json.decode(string.rep("[", 200) .. string.rep("]", 200))), 400)
  T.raises(function() json.decode(42) end, "json.decode: bad argument #1 'text' (expected string, got integer 42)")
  T.eq(lathe.swift_depth(), 0)
end)
