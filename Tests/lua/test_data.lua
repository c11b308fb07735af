-- The data module through the real binary: tables, CSV/JSONL files, cleaning, PII, dedupe,
-- splits, balancing, augmentation, templates, and the errors a person meets.
local T = require("testlib")

local function tmpfile(name, content)
  local dir = T.tmpdir()
  local path = dir .. "/" .. name
  if content then T.write(path, content) end
  return path, dir
end

local function rmdir(dir) os.execute("rm -rf '" .. dir .. "'") end

local function people()
  return data.from({name = {"Ann", "Bob", "Cy", "Dee"}, age = {31, 25, data.NA, 25}, city = {"Oslo", "Rome", "Oslo", data.NA}},
    {columns = {"name", "age", "city"}})
end

T.test("data.NA is a unique read-only sentinel; columns have no holes", function()
  T.eq(tostring(data.NA), "NA")
  T.raises(function() data.NA.x = 1 end, "data.NA is read-only")
  local ages = people():column("age")
  T.eq(#ages, 4)
  T.eq(ages[3], data.NA)
  T.ok(data.is_na(ages[3]) and data.is_na(nil) and not data.is_na(0) and not data.is_na(""))
  T.eq(getmetatable(data.NA), "NA")
end)

T.test("data.from: columns, record rows, array rows, types", function()
  local t = people()
  T.eq(#t, 4)
  T.same(t:columns(), {"name", "age", "city"})
  T.same(t:types(), {name = "string", age = "integer", city = "string"})
  local r = data.from({{q = "a", n = 1}, {q = "b", n = 2.5}, {q = "c"}})
  T.same(r:columns(), {"n", "q"})
  T.eq(r:types().n, "number")
  T.eq(r:column("n")[3], data.NA)
  local a = data.from({{1, "x"}, {2, "y"}}, {columns = {"id", "v"}, types = {id = "string"}})
  T.same(a:column("id"), {"1", "2"})
  T.raises(function() data.from({{1, 2}}) end, "need the column names")
  T.raises(function() data.from({a = {1, 2}, b = {1}}) end, "columns have different lengths: a: 2, b: 1")
  T.raises(function() data.from({a = {1, "x"}}) end, "column 'a' mixes integer and string values (row 2 is string \"x\")")
  T.raises(function() data.from({a = {print}}) end, "column 'a' element 1 is function")
  T.raises(function() data.from({a = {1}}, {colums = {"a"}}) end, "unknown option 'colums'; did you mean 'columns'?")
end)

T.test("tables print as aligned columns with types", function()
  local out = tostring(people())
  local lines = {}
  for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
  T.eq(lines[1], "DataTable: 4 rows x 3 columns")
  T.eq(lines[2], "   name        age  city")
  T.eq(lines[3], "   string  integer  string")
  T.eq(lines[4], "1  Ann          31  Oslo")
  T.eq(lines[6], "3  Cy           NA  Oslo")
  local big = data.from({i = (function() local x = {} for k = 1, 100 do x[k] = k end return x end)()})
  local s = tostring(big)
  T.ok(s:find("(100 rows x 1 columns)", 1, true), s)
  T.ok(select(2, s:gsub("\n", "")) < 16, s)
  T.ok(lathe.capture(function() show(big) end):find("100 rows", 1, true))
end)

T.test("methods return new tables and leave the input alone", function()
  local t = people()
  T.eq(#t:head(2), 2)
  T.eq(t:tail(1):column("name")[1], "Dee")
  T.same(t:select("city", "name"):columns(), {"city", "name"})
  T.same(t:select({"age"}):columns(), {"age"})
  T.same(t:drop("age"):columns(), {"name", "city"})
  T.same(t:rename({name = "who"}):columns(), {"who", "age", "city"})
  T.same(t:sort("age"):column("name"), {"Bob", "Dee", "Ann", "Cy"})
  T.same(t:sort("age", true):column("name"), {"Ann", "Bob", "Dee", "Cy"})
  T.same(t:sort({"city", "name"}, {false, true}):column("name"), {"Cy", "Ann", "Bob", "Dee"})
  T.same(t:filter(function(r) return r.city == "Oslo" end):column("name"), {"Ann", "Cy"})
  T.same(t:filter("age", function(a, i) return a ~= data.NA and a < 30 end):column("name"), {"Bob", "Dee"})
  T.same(t:map("name", string.lower):column("name"), {"ann", "bob", "cy", "dee"})
  local m = t:map("age", function(a) if a == data.NA then return nil end return a / 2 end, {into = "half"})
  T.same(m:column("half"), {15.5, 12.5, data.NA, 12.5})
  T.eq(m:types().half, "number")
  T.same(t:add_column("id", {1, 2, 3, 4}):column("id"), {1, 2, 3, 4})
  T.same(t:add_column("src", "web"):column("src"), {"web", "web", "web", "web"})
  T.same(t:add_column("n", function(r, i) return #r.name + i end):column("n"), {4, 5, 5, 7})
  T.eq(#t, 4)
  T.same(t:columns(), {"name", "age", "city"})
  T.eq(t[2].name, "Bob")
  T.eq(t[9], nil)
  T.eq(t:row(3).age, data.NA)
  local seen = {}
  for i, r in t:rows() do seen[#seen + 1] = i .. r.name end
  T.same(seen, {"1Ann", "2Bob", "3Cy", "4Dee"})
  T.same(t:unique("city"), {"Oslo", "Rome"})
end)

T.test("method errors name the problem", function()
  local t = people()
  T.raises(function() t:select("nmae") end, "DataTable:select: no column 'nmae'; did you mean 'name'? (columns: name, age, city)")
  T.raises(function() t:add_column("age", 1) end, "bad argument #1 'name' (column 'age' already exists; use t:map to change it)")
  T.raises(function() t:add_column("x", {1, 2}) end, "bad argument #2 'values' (expected 4 values (one per row), got 2)")
  T.raises(function() t:map("name", function() return {} end) end, "fn returned table for row 1")
  T.raises(function() t:filter(function(r) error("boom") end) end, "boom")
  T.raises(function() t:head(-1) end, "bad argument #1 'n' (expected integer >= 0, got integer -1)")
  T.raises(function() t:sample(9) end, "cannot sample 9 rows without replacement from 4 rows")
  T.raises(function() t.sort() end, "call it with a colon")
  T.raises(function() return t.name end, "for the column use t:column(\"name\")")
  T.raises(function() t:column("age", {tensor = true}) end, "column 'age' has 1 missing values (first at row 3)")
  T.raises(function() t:column("name", {tensor = true}) end, "holds strings")
  for _ = 1, 100 do pcall(t.select, t, "zz"); pcall(data.read_csv, "/no/such.csv") end
  T.eq(lathe.swift_depth(), 0)
end)

T.test("columns become tensors (float32 numbers, int64 integers)", function()
  local t = data.from({x = {1.5, 2.5}, k = {1, 2}, flag = {true, false}})
  local x = t:column("x", {tensor = true})
  T.eq(type(x), "userdata")
  local k = t:column("k", {tensor = true})
  local f = data.from({x = {1.5, data.NA}}):column("x", {tensor = true, fill = 0})
  T.eq(type(f), "userdata")
  if tensor and tensor.from and x.totable then
    T.same(x:totable(), {1.5, 2.5})
    T.eq(k:dtype(), "int64")
    T.same(f:totable(), {1.5, 0})
  end
end)

T.test("combining: concat, join, counts, describe", function()
  local t = people()
  local c = t:concat(data.from({name = {"Eve"}, score = {9.5}}))
  T.eq(#c, 5)
  T.same(c:columns(), {"name", "age", "city", "score"})
  local cities = data.from({city = {"Oslo", "Rome"}, country = {"NO", "IT"}})
  local j = t:join(cities, "city")
  T.eq(#j, 3)
  T.same(j:column("country"), {"NO", "IT", "NO"})
  local l = t:join(cities, "city", {how = "left"})
  T.same(l:column("country"), {"NO", "IT", "NO", data.NA})
  T.raises(function() t:join(cities, "name") end, "the other table has no column 'name'")
  local vc = t:value_counts("age")
  T.same(vc:column("age"), {25, 31, data.NA})
  T.same(vc:column("count"), {2, 1, 1})
  T.near(vc:column("share")[1], 0.5)
  local gc = t:group_count({"city"})
  T.same(gc:column("city"), {"Oslo", "Rome", data.NA})
  T.same(gc:column("count"), {2, 1, 1})
  local d = t:concat(t:head(1)):describe()
  T.eq(d.rows, 5)
  T.eq(d.duplicates, 1)
  T.same(d.columns:column("missing"), {0, 1, 1})
  T.same(d.columns:column("min"), {2.0, 25.0, 4.0})
  local text = tostring(d)
  T.ok(text:find("describe: 5 rows x 3 columns", 1, true) and text:find("duplicates  1", 1, true), text)
  local dl = data.from({x = {1, 2, 3}, label = {"a", "b", "a"}}):describe()
  T.same(dl.labels:column("label"), {"a", "b"})
end)

T.test("CSV files: read, types, NA, errors with file and line, skip mode, round trip", function()
  local path, dir = tmpfile("s.csv", 'id,text,score,ok\r\n1,"hello, world",0.5,true\r\n2,"say ""hi""\r\nthere",,false\r\n3,"",1e3,TRUE\r\n')
  local t, rep = data.read_csv(path)
  T.eq(#t, 3)
  T.same(t:types(), {id = "integer", text = "string", score = "number", ok = "boolean"})
  T.same(t:column("text"), {"hello, world", 'say "hi"\r\nthere', ""})
  T.same(t:column("score"), {0.5, data.NA, 1000.0})
  T.eq(rep.skipped, 0)
  local t2 = data.read_csv(path, {types = {id = "string"}, na = {}})
  T.same(t2:column("id"), {"1", "2", "3"})
  T.eq(t2:column("score")[2], "")   -- with na = {} an empty field is an empty string
  T.eq(t2:types().score, "string")
  local out = dir .. "/out.csv"
  data.write_csv(t, out)
  T.raises(function() data.write_csv(t, out) end, "already exists (pass overwrite = true to replace it)")
  data.write_csv(t, out, {overwrite = true})
  local back = data.read_csv(out)
  for _, col in ipairs(t:columns()) do T.same(back:column(col), t:column(col), col) end
  local bad = dir .. "/bad.csv"
  T.write(bad, "a,b\n1,2\n3\n4,5\n")
  local err = T.raises(function() data.read_csv(bad) end, "data.read_csv: " .. bad .. " line 3: expected 2 fields, got 1")
  T.ok(err:find("test_data.lua:%d+:") ~= nil, err)
  local ok, r2 = data.read_csv(bad, {on_error = "skip"})
  T.eq(#ok, 2)
  T.eq(r2.skipped, 1)
  T.eq(r2.problems[1].line, 3)
  T.write(bad, "a\n\233t\233\n")
  T.raises(function() data.read_csv(bad) end, "line 2, column 1: invalid UTF-8 (byte 0xE9)")
  T.eq(data.read_csv(bad, {encoding = "latin-1"}):column("a")[1], "été")
  T.raises(function() data.read_csv(dir .. "/none.csv") end, "none.csv: no such file")
  T.raises(function() data.read_csv(path, {sep = ";;"}) end, "bad option 'sep' (expected one ASCII character")
  T.raises(function() data.read_csv(path, {encoding = "ebcdic"}) end, "bad option 'encoding'")
  T.raises(function() data.read_csv(path, {on_error = "ignore"}) end, "bad option 'on_error' (expected \"error\" or \"skip\", got string \"ignore\")")
  T.raises(function() data.read_csv(path, {types = {id = "int"}}) end, "expected \"string\", \"number\", \"integer\" or \"boolean\", got \"int\"")
  local tsv = dir .. "/x.tsv"
  T.write(tsv, "a\tb\n1\tx y\n")
  T.same(data.read_csv(tsv):column("b"), {"x y"})
  rmdir(dir)
end)

-- physical lines of a text: a line ends at LF, CRLF or a lone CR; a last line may lack one
local function count_lines(text)
  local n, i = 0, 1
  while i <= #text do
    local c = text:sub(i, i)
    if c == "\n" then n = n + 1
    elseif c == "\r" then
      n = n + 1
      if text:sub(i + 1, i + 1) == "\n" then i = i + 1 end
    end
    i = i + 1
  end
  local last = text:sub(-1)
  if #text > 0 and last ~= "\n" and last ~= "\r" then n = n + 1 end
  return n
end

-- every physical line is read, skipped, blank or header; problem ranges are disjoint and sum up
local function lines_add_up(rep, text, label)
  T.eq(rep.lines, count_lines(text), label .. ": lines")
  T.eq(rep.row_lines + rep.skipped_lines + rep.blank_lines + rep.header_lines, rep.lines, label .. ": line accounting")
  if rep.skipped <= 100 then
    local sum, last = 0, 0
    for _, p in ipairs(rep.problems) do
      T.ok(p.line > last and p.end_line >= p.line and p.end_line <= rep.lines, label .. ": problem range " .. p.line .. "-" .. p.end_line)
      sum = sum + p.end_line - p.line + 1
      last = p.end_line
    end
    T.eq(sum, rep.skipped_lines, label .. ": problem ranges cover the skipped lines")
  end
end

T.test("CSV stray quotes: one stray quote costs one row, every line is accounted for", function()
  -- the user's file: tab-separated reviews, a review opening with a bare quote at line 13
  local lines = {"id\ttext\tstars"}
  for i = 1, 200 do
    local body = (i == 12) and '"Best purchase ever!' or (i == 178 and 'said 5" is small' or ("review " .. i))
    lines[#lines + 1] = i .. "\t" .. body .. "\t" .. (i % 5)
  end
  local text = table.concat(lines, "\n") .. "\n"
  local path, dir = tmpfile("reviews.tsv", text)
  local t, rep = data.read_csv(path, {on_error = "skip"})
  T.eq(#t, 199)
  T.eq(rep.skipped, 1)
  T.eq(rep.skipped_lines, 1)
  T.same({rep.problems[1].line, rep.problems[1].end_line}, {13, 13})
  T.ok(rep.problems[1].message:find("quoted field opened at line 13, column 4 runs to line 179 (167 lines)", 1, true), rep.problems[1].message)
  T.ok(rep.problems[1].message:find("skipped line 13 as a stray quote and resumed at line 14", 1, true), rep.problems[1].message)
  T.eq(t:column("id")[12], 13)
  T.eq(t:column("text")[177], 'said 5" is small')
  lines_add_up(rep, text, "reviews")
  -- the warning states rows and lines
  local _, err = T.lathe("-e " .. T.sh_quote('data.read_csv("' .. path .. '", {on_error = "skip"})'))
  T.ok(err:find("skipped 1 bad row covering 1 line of " .. path .. " (read 199 rows from 201 lines; first at line 13, column 4", 1, true), err)
  -- without skip: an error naming where the quote opened
  T.raises(function() data.read_csv(path) end, "reviews.tsv line 179, column 12: unexpected character after a closing quote")
  T.raises(function() data.read_csv(path) end, "the quoted field opened at line 13, column 4 (a stray quote?")
  -- quote = false: quotes are ordinary characters, every row is read
  local t2, rep2 = data.read_csv(path, {quote = false})
  T.eq(#t2, 200)
  T.eq(rep2.skipped, 0)
  T.eq(t2:column("text")[12], '"Best purchase ever!')
  lines_add_up(rep2, text, "reviews, quote = false")
  rmdir(dir)
end)

T.test("CSV stray quotes in the middle, on the last line, never closed; with and without skip", function()
  local cases = {
    -- {text, rows read with skip, skipped, {problem line ranges}, error with on_error = "error"}
    {'a,b,c\n1,"x,2\n3,y,4\n5,z,6\n', 2, 1, {{2, 2}}, 'line 2, column 3: quoted field opened here is never closed (it runs to the end of the file, line 4)'},
    {'a,b,c\n1,x,2\n3,y,4\n5,"z,6\n', 2, 1, {{4, 4}}, 'line 4, column 3: quoted field opened here is never closed (it runs to the end of the file, line 4)'},
    {'a,b,c\n1,x,2\n3,y,4\n5,"z,6', 2, 1, {{4, 4}}, 'line 4, column 3: quoted field opened here is never closed'},
    {'a,b,c\n1,"x,2\n3,y" q,4\n5,z,6\n', 2, 1, {{2, 2}}, 'line 3, column 5: unexpected character after a closing quote'},
    {'a,b,c\n1,"x,2\r\n\r\n3,y,4\r\n5,"w,6\r\n7,v,8\r\n', 2, 2, {{2, 2}, {5, 5}}, 'line 5, column 4: unexpected character after a closing quote'},
    {'a,b,c\n"1,x,2\n3,y,4\n', 1, 1, {{2, 2}}, 'line 2, column 1: quoted field opened here is never closed'},
  }
  for k, case in ipairs(cases) do
    local path, dir = tmpfile("s.csv", case[1])
    local t, rep = data.read_csv(path, {on_error = "skip"})
    T.eq(#t, case[2], "case " .. k .. " rows")
    T.eq(rep.skipped, case[3], "case " .. k .. " skipped")
    local got = {}
    for _, p in ipairs(rep.problems) do got[#got + 1] = {p.line, p.end_line} end
    T.same(got, case[4], "case " .. k .. " problem lines")
    lines_add_up(rep, case[1], "case " .. k)
    T.raises(function() data.read_csv(path) end, "s.csv " .. case[5])
    local t3, rep3 = data.read_csv(path, {quote = false, on_error = "skip"})
    lines_add_up(rep3, case[1], "case " .. k .. " quote = false")
    T.eq(#t3 + rep3.skipped, count_lines(case[1]) - 1 - rep3.blank_lines, "case " .. k .. ": without quoting every line is one record")
    rmdir(dir)
  end
  -- a legitimate multi-line field in a row that is bad for another reason: the whole row goes
  local path, dir = tmpfile("m.csv", 'a,b,c\n1,"multi\nline",3\n2,"x\ny",3,4\n5,6,7\n')
  local t, rep = data.read_csv(path, {on_error = "skip"})
  T.same(t:column("a"), {1, 5})
  T.same({rep.problems[1].line, rep.problems[1].end_line}, {4, 5})
  T.eq(rep.row_lines, 3)
  -- max_quoted_lines: a longer quoted field is a stray quote
  T.write(path, 'a,b\n1,"l1\nl2\nl3\nl4"\n2,x\n')
  T.eq(#data.read_csv(path), 2)
  T.raises(function() data.read_csv(path, {max_quoted_lines = 3}) end, 'line 2, column 3: quoted field opened here spans more than max_quoted_lines = 3 lines (it closes at line 5)')
  local t4, rep4 = data.read_csv(path, {max_quoted_lines = 3, on_error = "skip"})
  lines_add_up(rep4, T.read(path), "max_quoted_lines")
  T.eq(rep4.problems[1].line, 2)
  T.raises(function() data.read_csv(path, {max_quoted_lines = 0}) end, "bad option 'max_quoted_lines' (expected integer >= 1, got integer 0)")
  local many = {"a,b", '1,"open'}
  for i = 1, 20 do many[#many + 1] = i .. ",x" end
  T.write(path, table.concat(many, "\n") .. "\n")
  T.raises(function() data.read_csv(path, {max_quoted_lines = 5}) end, "line 2, column 3: quoted field opened here spans more than max_quoted_lines = 5 lines (no closing quote within them)")
  local t5, rep5 = data.read_csv(path, {max_quoted_lines = 5, on_error = "skip"})
  T.eq(#t5, 20)
  T.same({rep5.problems[1].line, rep5.problems[1].end_line}, {2, 2})
  rmdir(dir)
end)

T.test("CSV line accounting over generated files with stray quotes, multi-line fields, blank lines, CRLF", function()
  math.randomseed(20240611)
  for f = 1, 40 do
    local eol = (f % 3 == 0) and "\r\n" or "\n"
    local parts = {"a,b,c" .. eol}
    local strays = {}
    local nlines = 1
    for i = 1, 60 do
      local r = math.random()
      if r < 0.08 then
        parts[#parts + 1] = eol; nlines = nlines + 1                       -- blank line
      elseif r < 0.16 then
        parts[#parts + 1] = i .. ',"two' .. eol .. 'lines, ok",' .. i .. eol; nlines = nlines + 2
      elseif r < 0.24 then
        parts[#parts + 1] = i .. ',"stray text,' .. i .. eol; nlines = nlines + 1
        strays[#strays + 1] = nlines
      elseif r < 0.30 then
        parts[#parts + 1] = i .. ',size 5" wide,' .. i .. eol; nlines = nlines + 1
      elseif r < 0.34 then
        parts[#parts + 1] = i .. ',too,many,' .. i .. eol; nlines = nlines + 1
      else
        parts[#parts + 1] = i .. ',"q, ""d""",' .. i .. eol; nlines = nlines + 1
      end
    end
    local text = table.concat(parts)
    if f % 4 == 0 then text = text:sub(1, #text - #eol) end   -- no final line end
    local path, dir = tmpfile("g.csv", text)
    local t, rep = data.read_csv(path, {on_error = "skip"})
    T.eq(#t, rep.rows)
    lines_add_up(rep, text, "file " .. f)
    -- every stray quote line is skipped on its own
    local skipped = {}
    for _, p in ipairs(rep.problems) do if p.line == p.end_line then skipped[p.line] = true end end
    for _, ln in ipairs(strays) do T.ok(skipped[ln], "file " .. f .. ": stray quote line " .. ln .. " skipped alone") end
    local t2, rep2 = data.read_csv(path, {on_error = "skip", quote = false})
    lines_add_up(rep2, text, "file " .. f .. " quote = false")
    rmdir(dir)
  end
end)

T.test("CSV quote options: a quote character, no quoting when writing", function()
  local path, dir = tmpfile("q.csv", "a;b\n'x;y';'it''s'\n\"q\";2\n")
  local t = data.read_csv(path, {sep = ";", quote = "'"})
  T.same(t:column("a"), {"x;y", '"q"'})
  T.same(t:column("b"), {"it's", "2"})
  T.raises(function() data.read_csv(path, {quote = "ab"}) end, "bad option 'quote' (expected one ASCII character such as \"'\", got \"ab\")")
  T.raises(function() data.read_csv(path, {sep = ";", quote = ";"}) end, "bad option 'quote' (it is the separator \";\"; the quote and the separator must differ)")
  T.raises(function() data.read_csv(path, {quote = 1}) end, "bad option 'quote' (expected string or boolean, got integer 1)")
  local out = dir .. "/o.tsv"
  data.write_csv(t, out, {quote = false})
  T.eq(T.read(out), 'a\tb\nx;y\tit\'s\n"q"\t2\n')
  local back = data.read_csv(out, {quote = false})
  T.same(back:column("a"), t:column("a"))
  T.same(back:column("b"), t:column("b"))
  T.raises(function() data.write_csv(data.from({s = {"ok", "a\tb"}}), out, {quote = false, overwrite = true}) end,
    "data.write_csv: column 's' row 2 holds a tab or a line break, which cannot be written with quote = false")
  T.raises(function() data.write_csv(data.from({s = {"line\nbreak"}}), out, {quote = false, sep = ",", overwrite = true}) end,
    "column 's' row 1 holds the separator \",\" or a line break")
  data.write_csv(data.from({s = {"it's", "a,b"}}), out, {quote = "'", sep = ",", overwrite = true})
  T.eq(T.read(out), "s\n'it''s'\n'a,b'\n")
  T.same(data.read_csv(out, {quote = "'"}):column("s"), {"it's", "a,b"})
  rmdir(dir)
end)

T.test("read_json: top-level arrays, records under a key, flattening, skips and errors", function()
  local path, dir = tmpfile("d.json", '[{"id": 1, "user": {"name": "Ann", "geo": {"city": "Oslo"}}, "tags": ["a", "b"]},\n {"id": 2, "user": {"name": "Bob"}, "tags": [], "extra": null}]\n')
  local t, rep = data.read_json(path)
  T.same(t:columns(), {"id", "tags", "user.name", "user.geo.city", "extra"})
  T.same(t:types(), {id = "integer", tags = "string", extra = "string", ["user.name"] = "string", ["user.geo.city"] = "string"})
  T.same(t:column("tags"), {'["a","b"]', "[]"})
  T.same(json.decode(t:column("tags")[1]), {"a", "b"})
  T.same(t:column("user.geo.city"), {"Oslo", data.NA})
  T.eq(rep.rows, 2)
  T.eq(rep.lines, 2)
  T.eq(rep.row_lines, 2)
  local t2 = data.read_json(path, {flatten = false})
  T.same(t2:columns(), {"id", "user", "tags", "extra"})
  T.same(json.decode(t2:column("user")[1]), {name = "Ann", geo = {city = "Oslo"}})
  T.same(data.read_json(path, {max_level = 1}):column("user.geo"), {'{"city":"Oslo"}', data.NA})
  T.same(data.read_json(path, {sep = "/"}):columns(), {"id", "tags", "user/name", "user/geo/city", "extra"})
  T.raises(function() data.read_json(path, {flatten = false, max_level = 2}) end, "bad option 'max_level' (flatten = false keeps nested objects whole")
  T.raises(function() data.read_json(path, {max_level = -1}) end, "bad option 'max_level' (expected integer >= 0, got integer -1)")
  T.raises(function() data.read_json(path, {types = {idd = "string"}}) end, "types names no key 'idd'; did you mean 'id'?")
  T.same(data.read_json(path, {types = {id = "string"}}):column("id"), {"1", "2"})
  -- records under a key
  T.write(path, '{"meta": {"n": 2},\n "data": [\n  {"q": "hi"},\n  {"q": "yo"}\n ]\n}\n')
  T.same(data.read_json(path, {records = "data"}):column("q"), {"hi", "yo"})
  T.raises(function() data.read_json(path) end, "d.json line 1, column 1: the top level is an object, not an array of records; pass records = \"data\" to read the array under that key")
  T.raises(function() data.read_json(path, {records = "rows"}) end, "the top-level object has no key \"rows\" (keys holding arrays: \"data\")")
  T.raises(function() data.read_json(path, {records = "meta"}) end, "d.json line 1, column 10: the key \"meta\" holds an object, expected an array of records")
  -- records that are not objects: an error, or skipped with their lines
  T.write(path, '[\n {"a": 1},\n 2,\n [3,\n  4],\n {"a": 5}\n]\n')
  T.raises(function() data.read_json(path) end, "d.json line 3, column 2: record 2 is a number, not an object")
  local t3, rep3 = data.read_json(path, {on_error = "skip"})
  T.same(t3:column("a"), {1, 5})
  T.eq(rep3.skipped, 2)
  T.eq(rep3.skipped_lines, 3)
  T.same({rep3.problems[2].line, rep3.problems[2].end_line}, {4, 5})
  T.eq(rep3.problems[2].message, "record 3 is an array, not an object")
  T.eq(rep3.lines, 7)
  -- syntax errors are always errors, with line and column
  T.write(path, '[{"a": 1},\n {"a": 2,}]')
  T.raises(function() data.read_json(path, {on_error = "skip"}) end, "d.json line 2, column 10: expected a string key, got '}'")
  T.write(path, "")
  T.raises(function() data.read_json(path) end, "d.json is empty (expected a JSON array of records)")
  T.write(path, '[{"a": "caf\233"}]')
  T.raises(function() data.read_json(path) end, "d.json line 1, column 12: invalid UTF-8 (byte 0xE9)")
  T.same(data.read_json(path, {encoding = "latin-1"}):column("a"), {"café"})
  rmdir(dir)
end)

-- a golden cell (null, a plain value, or {json = value}) against a cell of Lathe's table
local function golden_cell_ok(got, want)
  if want == json.null then return got == data.NA end
  if type(want) == "table" then
    return type(got) == "string" and T.deep_equal(json.decode(got), want.json)
  end
  return got == want
end

T.test("read_json matches pandas.json_normalize on the golden corpus", function()
  local golden = json.decode(T.read(T.root .. "/Tests/golden/data/json_normalize.json"))
  local n = 0
  for name, case in pairs(golden.cases) do
    n = n + 1
    local opts = {}
    for k, v in pairs(case.options) do opts[k] = v end
    local t = data.read_json(T.root .. "/Tests/golden/data/json/" .. case.file, opts)
    T.same(t:columns(), case.columns, name .. " columns")
    T.eq(#t, #case.rows, name .. " rows")
    local types = t:types()
    for j, col in ipairs(case.columns) do
      local values = t:column(col)
      local integral = true
      for r, row in ipairs(case.rows) do
        T.ok(golden_cell_ok(values[r], row[j]), string.format("%s: %s row %d: got %s, pandas %s", name, col, r, tostring(values[r]), json.encode(row[j])))
        if type(row[j]) == "number" and math.type(row[j]) == "float" and row[j] ~= math.floor(row[j]) then integral = false end
      end
      local dt, ty = case.dtypes[j], types[col]
      local ok = (dt == "int64" and ty == "integer") or (dt == "bool" and ty == "boolean") or (dt == "str" and ty == "string")
        or (dt == "float64" and (ty == "number" or (ty == "integer" and integral)))
        or (dt == "object" and (ty == "string" or ty == "boolean"))
      T.ok(ok, name .. ": column " .. col .. " is " .. ty .. ", pandas " .. dt)
    end
  end
  T.ok(n >= 10, "the corpus has " .. n .. " files")
end)

T.test("JSONL files: read, nested values, write, errors", function()
  local path, dir = tmpfile("d.jsonl", '{"q": "hi", "n": 1, "meta": {"a": [1, 2]}}\n\n{"q": "yo", "n": null, "x": true}\n')
  local t = data.read_jsonl(path)
  T.same(t:columns(), {"q", "n", "meta", "x"})
  T.same(t:column("meta"), {'{"a": [1, 2]}', data.NA})
  T.same(t:column("x"), {data.NA, true})
  local out = dir .. "/o.jsonl"
  data.write_jsonl(t, out)
  T.eq(T.read(out), '{"q":"hi","n":1,"meta":"{\\"a\\": [1, 2]}","x":null}\n{"q":"yo","n":null,"meta":null,"x":true}\n')
  data.write_jsonl(t, out, {overwrite = true, missing = "omit"})
  T.eq(T.read(out), '{"q":"hi","n":1,"meta":"{\\"a\\": [1, 2]}"}\n{"q":"yo","x":true}\n')
  T.write(path, '{"a": 1}\n{"a": }\n')
  T.raises(function() data.read_jsonl(path) end, "d.jsonl line 2, column 7: expected a value, got '}'")
  local t3, rep = data.read_jsonl(path, {on_error = "skip"})
  T.eq(#t3, 1)
  T.eq(rep.skipped, 1)
  T.write(path, '{"a": 1}\n\n{"a": }\n  \r\n{"a": 2}\nnope')
  local t4, rep4 = data.read_jsonl(path, {on_error = "skip"})
  T.same(t4:column("a"), {1, 2})
  T.same({rep4.lines, rep4.row_lines, rep4.skipped_lines, rep4.blank_lines, rep4.header_lines}, {6, 2, 2, 2, 0})
  T.same({rep4.problems[2].line, rep4.problems[2].end_line}, {6, 6})
  T.eq(rep4.row_lines + rep4.skipped_lines + rep4.blank_lines, count_lines(T.read(path)))
  rmdir(dir)
end)

T.test("cleaning steps report what they changed", function()
  local t = data.from({text = {"  <p>Hello&amp;bye</p> ", "ﬁne\u{a0}print", data.NA, "Visit https://x.io now"}, n = {1, 2, 3, 4}},
    {columns = {"text", "n"}})
  local out, reports
  local printed = lathe.capture(function()
    out, reports = data.clean(t, {drop_missing = true, strip_html = true, strip_urls = true, lower = true})
  end)
  T.same(out:column("text"), {"hello&bye", "fine print", "visit now"})
  T.eq(reports[1].step, "drop_missing")
  T.eq(reports[1].rows_dropped, 1)
  T.eq(reports[2].step, "strip_html")
  T.eq(reports[2].cells_changed, 1)
  T.same(reports[2].example, {"  <p>Hello&amp;bye</p> ", "  Hello&bye  "})
  T.ok(printed:find("data.clean: 4 -> 3 rows", 1, true), printed)
  T.ok(printed:find("strip_urls", 1, true), printed)
  T.eq(lathe.capture(function() data.clean(t, {quiet = true}) end), "")
  local f = data.clean(t, {min_length = 10, quiet = true})
  T.eq(#f, 3)
  local fl = data.clean(t, {filter = function(r) return r.n ~= 2 end, quiet = true})
  T.eq(#fl, 3)
  T.raises(function() data.clean(t, {filter = 3}) end, "bad option 'filter' (expected function, got integer 3)")
  T.raises(function() data.clean(t, {columns = "n"}) end, "column 'n' is integer; text cleaning works on string columns")
  -- per-step functions on tables and on strings
  local w, r = data.normalize_whitespace(t, "text")
  T.eq(r.cells_changed, 2)
  T.eq(w:column("text")[2], "ﬁne print")
  T.eq(data.nfkc("Ｌａｔｈｅ"), "Lathe")
  T.eq(data.strip_html("a<br>b"), "a b")
  T.eq(data.lower("ÄB"), "äb")
  T.eq(data.strip_urls("x www.a.com y", {replace = "<u>"}), "x <u> y")
  local dm, dr = data.drop_missing(t)
  T.eq(#dm, 3)
  T.eq(dr.rows_dropped, 1)
  local lt, lr = data.filter_length(t, "text", {max = 2, unit = "words"})
  T.eq(#lt, 2)   -- the no-break space separates words; the missing text is dropped
  T.eq(lr.rows_dropped, 2)
  local tk = data.filter_length(t, "text", {min = 3, count = function(s) return #s // 5 end})
  T.eq(#tk, 2)
  T.raises(function() data.filter_length(t, "text", {unit = "tokens"}) end, "\"tokens\" needs count = function(text)")
  T.raises(function() data.filter_length(t, "text", {count = function() return "x" end}) end, "count must return an integer")
end)

T.test("PII: find, mask with placeholders and pseudonyms, custom patterns, tables", function()
  local s = "Ann <ann@example.com> paid with 4111 1111 1111 1111 from 10.0.0.1, IBAN DE89 3704 0044 0532 0130 00, call +1 (555) 123-4567"
  local ms = data.find_pii(s)
  local kinds = {}
  for _, m in ipairs(ms) do
    kinds[#kinds + 1] = m.kind
    T.eq(s:sub(m.first, m.last), m.text)
  end
  T.same(kinds, {"email", "card", "ipv4", "iban", "phone"})
  local masked, report = data.mask_pii(s)
  T.eq(masked, "Ann <[EMAIL]> paid with [CARD] from [IPV4], IBAN [IBAN], call [PHONE]")
  T.same(report, {email = 1, card = 1, ipv4 = 1, iban = 1, phone = 1, ipv6 = 0, url = 0})
  T.eq((data.mask_pii("4111 1111 1111 1112 and 2024-01-15 and v1.2.3 and $1,299.99")), "4111 1111 1111 1112 and 2024-01-15 and v1.2.3 and $1,299.99")
  local p = data.mask_pii("a@x.com b@x.com A@X.COM", {pseudonyms = true})
  T.eq(p, "[EMAIL_1] [EMAIL_2] [EMAIL_1]")
  local c = data.mask_pii("EMP-12345 and ann@x.org", {kinds = {}, patterns = {employee = "EMP-\\d{5}"}})
  T.eq(c, "[EMPLOYEE] and ann@x.org")
  local t = data.from({msg = {"hi bob@y.org", "no pii", data.NA}, n = {1, 2, 3}})
  local mt, mr = data.mask_pii(t, {pseudonyms = true})
  T.same(mt:column("msg"), {"hi [EMAIL_1]", "no pii", data.NA})
  T.eq(mr.email, 1)
  T.raises(function() data.mask_pii(s, {kinds = {"emial"}}) end, "unknown kind 'emial'; did you mean 'email'?")
  T.raises(function() data.mask_pii(s, {patterns = {x = "("}}) end, "not a valid regular expression")
  T.raises(function() data.mask_pii(42) end, "bad argument #1 'text_or_table' (expected string or DataTable or table, got integer 42)")
end)

T.test("dedupe: exact and near, clusters, mark", function()
  local texts = {"Where is my order #1234?", "where is my  ORDER #1234?", "Where is my order #1234??", "I want a refund for my broken phone",
                 "I want a refund for my broken phone!", "Totally unrelated question about invoices", data.NA, data.NA}
  local t = data.from({text = texts, id = {1, 2, 3, 4, 5, 6, 7, 8}}, {columns = {"id", "text"}})
  local exact, r1 = data.dedupe(t, "text")
  T.eq(#exact, 7)
  T.eq(r1.exact_duplicates, 1)
  T.eq(r1.near_duplicates, 0)
  local near, r2 = data.dedupe(t, "text", {near = 0.7, seed = 3})
  T.same(near:column("id"), {1, 4, 6, 7, 8})
  T.eq(r2.exact_duplicates, 1)
  T.eq(r2.near_duplicates, 2)
  T.same(r2.clusters, {{1, 2, 3}, {4, 5}})
  T.eq(r2.examples[1][1], "Where is my order #1234?")
  T.ok(r2.bands > 0 and r2.rows_per_band > 0)
  T.ok(tostring(r2):find("dedupe of 'text': 8 -> 5 rows", 1, true))
  local marked = data.dedupe(t, "text", {near = 0.7, mark = true})
  T.same(marked:column("duplicate_of"), {data.NA, 1, 1, data.NA, 4, data.NA, data.NA, data.NA})
  local words = data.dedupe(t, "text", {near = true, unit = "word", ngram = 2})
  T.ok(#words <= 7)
  T.raises(function() data.dedupe(t, "text", {near = 1.5}) end, "bad option 'near' (expected number in (0, 1] or boolean, got number 1.5)")
  T.raises(function() data.dedupe(t, "id") end, "column 'id' is integer; de-duplication works on a string column")
end)

T.test("split: exact sizes, stratified, grouped, duplicate-aware, seeded", function()
  local n = 100
  local text, label, cust = {}, {}, {}
  for i = 1, n do
    text[i] = "ticket " .. i .. " about an order that did not arrive in time"
    label[i] = (i % 10 < 7) and "a" or ((i % 10 < 9) and "b" or "c")
    cust[i] = (i - 1) // 4
  end
  text[2] = text[1] .. "!"   -- a near duplicate
  local t = data.from({text = text, label = label, customer = cust})
  local s = data.split(t, {train = 0.7, val = 0.2, test = 0.1, seed = 1})
  T.eq(#s.train, 70); T.eq(#s.val, 20); T.eq(#s.test, 10)
  local s2 = data.split(t, {train = 0.7, val = 0.2, test = 0.1, seed = 1})
  T.same(s2.test:column("text"), s.test:column("text"))
  local st = data.split(t, {train = 0.7, val = 0.2, test = 0.1, stratify = "label", seed = 2})
  local vc = st.test:value_counts("label")
  T.same(vc:column("label"), {"a", "b", "c"})
  T.same(vc:column("count"), {7, 2, 1})
  local g = data.split(t, {train = 0.8, test = 0.2, group = "customer", seed = 3})
  local train_c = {}
  for _, c in ipairs(g.train:column("customer")) do train_c[c] = true end
  for _, c in ipairs(g.test:column("customer")) do T.ok(not train_c[c], "customer " .. c .. " in both") end
  T.eq(#g.train + #g.test, n)
  local d = data.split(t, {train = 0.5, test = 0.5, dedupe = "text", near = 0.9, seed = 4})
  local in_train = false
  for _, x in ipairs(d.train:column("text")) do if x == text[1] or x == text[2] then in_train = not in_train end end
  T.ok(not in_train, "the near-duplicate pair stays together")
  local default = data.split(t)
  T.eq(#default.train + #default.val + #default.test, n)
  T.raises(function() data.split(t, {train = 0.7, test = 0.2}) end, "split proportions must be >= 0 and sum to 1")
  T.raises(function() data.split(t, {train = 1, stratify = "lable"}) end, "no column 'lable'; did you mean 'label'?")
  T.raises(function() data.split(t, {train = 1, near = 0.5}) end, "near applies with dedupe")
  T.raises(function() data.split(t, {tran = 1}) end, "unknown option 'tran'; did you mean 'train'?")
end)

T.test("kfold, oversample, undersample, class_weights", function()
  local lab = {}
  for i = 1, 20 do lab[i] = i <= 14 and "a" or "b" end
  local t = data.from({label = lab, x = (function() local x = {} for i = 1, 20 do x[i] = i end return x end)()})
  local folds = data.kfold(t, 4, {stratify = "label", seed = 1})
  T.eq(#folds, 4)
  local seen = {}
  for _, f in ipairs(folds) do
    T.eq(#f.train + #f.val, 20)
    for _, x in ipairs(f.val:column("x")) do T.ok(not seen[x]); seen[x] = true end
    local bs = 0
    for _, l in ipairs(f.val:column("label")) do if l == "b" then bs = bs + 1 end end
    T.ok(bs == 1 or bs == 2)
  end
  T.raises(function() data.kfold(t, 1) end, "bad argument #2 'k' (expected integer >= 2, got integer 1)")
  local o = data.oversample(t, "label", {seed = 1})
  T.same(o:value_counts("label"):column("count"), {14, 14})
  local u = data.undersample(t, "label", {seed = 1})
  T.same(u:value_counts("label"):column("count"), {6, 6})
  local od = data.oversample(t, "label", {distribution = {a = 0.5, b = 0.5}, seed = 1})
  T.eq(#od, 28)
  local ot = data.oversample(t, "label", {target = {b = 10}, seed = 1})
  T.same(ot:value_counts("label"):column("count"), {14, 10})
  T.raises(function() data.oversample(t, "label", {target = {z = 3}}) end, "label \"z\"")
  T.raises(function() data.undersample(t, "label", {target = "max", distribution = {a = 1}}) end, "give either target or distribution")
  local w = data.class_weights(t, "label")
  T.near(w.a, 20 / (2 * 14), 1e-12)
  T.near(w.b, 20 / (2 * 6), 1e-12)
  local w2 = data.class_weights({1, 1, 2})
  T.near(w2[1], 0.75, 1e-12)
  T.near(w2[2], 1.5, 1e-12)
end)

T.test("augment and augment_text", function()
  local syn = {late = {"delayed"}, order = {"purchase"}}
  T.eq(data.augment_text("my order is late", "synonym", {synonyms = syn, alpha = 1, seed = 1}), "my purchase is delayed")
  local a = data.augment_text("one two three four", "swap", {seed = 5})
  local b = data.augment_text("one two three four", "swap", {seed = 5})
  T.eq(a, b)
  T.raises(function() data.augment_text("x", "shuffle") end, "bad argument #2 'op'")
  local t = data.from({text = {"my order is late", "the app is slow", data.NA}, label = {"s", "t", "u"}})
  local out, rep = data.augment(t, "text", {ops = {"synonym"}, synonyms = syn, alpha = 1, n = 1, seed = 2})
  T.eq(rep.added, 1)       -- only the first text has synonyms
  T.eq(rep.unchanged, 1)
  T.eq(#out, 4)
  T.same(out:column("augmented"), {false, false, false, true})
  T.eq(out:column("text")[4], "my purchase is delayed")
  T.eq(out:column("label")[4], "s")
  local calls = 0
  local f = data.augment(t, "text", {fn = function(s, i) calls = calls + 1; if i == 2 then return nil end return s .. " (paraphrased)" end, n = 2})
  T.eq(calls, 4)
  T.eq(#f, 5)
  T.raises(function() data.augment(t, "text", {ops = {"fn"}}) end, "op \"fn\" needs a function")
  T.raises(function() data.augment(t, "text", {fn = function() return 1 end}) end, "fn must return a string or nil")
end)

T.test("template: alpaca, chatml, custom with response offsets", function()
  local t = data.from({question = {"What is 2+2?", "Größe?"}, answer = {"4", "groß"}, cat = {"math", "de"}})
  local ex = data.template(t, "Q: {question}\nA: {answer}", {response = "answer", eos = "</s>", keep = {"cat"}})
  T.same(ex:columns(), {"prompt", "response", "text", "response_start", "cat"})
  local r = ex:row(2)
  T.eq(r.text, "Q: Größe?\nA: groß</s>")
  T.eq(r.response_start, #"Q: Größe?\nA: ")
  T.eq(r.text:sub(r.response_start + 1), "groß</s>")
  T.eq(r.prompt .. r.response, r.text)
  local al = data.template(t, "alpaca", {instruction = "question", response = "answer"})
  T.ok(al:row(1).prompt:find("### Instruction:\nWhat is 2+2?\n\n### Response:\n", 1, true))
  local ch = data.template(t, "chatml", {instruction = "question", response = "answer", system = "Be brief."})
  T.eq(ch:row(1).text, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n")
  T.raises(function() data.template(t:rename({question = "q"}), "alpaca") end, "no instruction column")
  T.raises(function() data.template(t, "llama") end, "expected \"alpaca\", \"chatml\" or a template with {field} placeholders")
  T.raises(function() data.template(t, "{quest}") end, "no column 'quest'; did you mean 'question'?")
  local m = data.from({question = {"a", "b"}, answer = {"x", data.NA}})
  T.raises(function() data.template(m, "{question} {answer}") end, "row 2: column 'answer' is missing")
  T.eq(#data.template(m, "{question} {answer}", {on_missing = "skip"}), 1)
end)

T.test("the sample datasets load and are what the README says", function()
  local st = data.read_csv(T.root .. "/data/support_tickets.csv")
  T.ok(#st >= 2500 and #st <= 4000, "rows " .. #st)
  for _, c in ipairs({"ticket_id", "customer_id", "created_at", "channel", "subject", "message", "category", "priority"}) do
    T.ok(st:types()[c], "column " .. c)
  end
  local d = st:describe()
  local missing = 0
  for _, m in ipairs(d.columns:column("missing")) do missing = missing + m end
  T.ok(missing > 0, "has missing values")
  local _, rep = data.mask_pii(st, {columns = {"message"}})
  T.ok(rep.email > 20 and rep.phone > 20 and rep.card > 5 and rep.iban > 3, "PII present")
  local _, dd = data.dedupe(st, "message", {near = 0.85})
  T.ok(dd.exact_duplicates > 10 and dd.near_duplicates > 10, "duplicates present")
  local faq = data.read_jsonl(T.root .. "/data/product_faq.jsonl")
  T.ok(#faq >= 1500 and #faq <= 3000, "faq rows " .. #faq)
  T.ok(faq:types().instruction == "string" and faq:types().response == "string")
  local ex = data.template(faq, "chatml")
  T.eq(#ex, #faq)
end)

T.test("results print readably with plain print()", function()
  local t = data.from({text = {"hi ann@x.com", "hello", "hi ann@x.com"}, label = {"a", "b", "a"}})
  local function readable(x, want)
    local s = tostring(x)
    T.ok(not s:find("table: 0x", 1, true), s)
    T.ok(s:find(want, 1, true), want .. " in " .. s)
  end
  local _, pii = data.mask_pii(t)
  readable(pii, "PIIReport {")
  readable(pii, "email = 2")
  readable(data.find_pii("ann@x.com")[1], "kind = \"email\"")
  readable(t:describe(), "describe: 3 rows x 2 columns")
  readable(select(2, data.dedupe(t, "text")), "exact_duplicates  1")
  readable(select(2, data.clean(t, {quiet = true}))[1], "CleanReport {")
  readable(select(2, data.augment(t, "text", {ops = {"swap"}, seed = 1})), "AugmentReport {")
  readable(data.split(t, {train = 0.5, test = 0.5, seed = 1}), "Split {")
  readable(data.kfold(t, 2, {seed = 1})[1], "fold  = 1")
  readable(data.class_weights(t, "label"), "ClassWeights {a = 0.75, b = 1.5}")
  readable(t:types(), "ColumnTypes {label = \"string\", text = \"string\"}")
  local path, dir = tmpfile("r.csv", "a\n1\n")
  readable(select(2, data.read_csv(path)), "read: 1 row (1 line), 0 skipped (0 lines), of 2 lines")
  rmdir(dir)
end)

T.test("t:show shows every column, whole texts and every row on request; describe says min/mean/max are lengths", function()
  local long = "A long review that goes on and on about the product, with details"
  local t = data.from({id = {1, 2}, review = {long, "Short"}, a = {"x", "y"}, b = {"more text here too long", "z"}, c = {"even more columns here", "w"}},
    {columns = {"id", "review", "a", "b", "c"}})
  local fit = lathe.capture(function() t:show() end)
  T.eq(fit, tostring(t) .. "\n")
  T.ok(fit:find("… 1 more column: c", 1, true) and not fit:find(long, 1, true), fit)
  local all = lathe.capture(function() t:show({columns = "all", cell_width = "full"}) end)
  T.ok(all:find(long, 1, true) and all:find("even more columns here", 1, true) and not all:find("…", 1, true), all)
  local narrow = lathe.capture(function() t:show({cell_width = 8, width = 40}) end)
  T.ok(narrow:find("A long …", 1, true), narrow)
  for line in narrow:gmatch("[^\n]+") do T.ok(#line <= 42, line) end
  local big = data.from({i = (function() local x = {} for k = 1, 30 do x[k] = k end return x end)()})
  local rows = select(2, lathe.capture(function() big:show({rows = "all"}) end):gsub("\n", ""))
  T.eq(rows, 33)
  local four = lathe.capture(function() big:show({rows = 4}) end)
  T.ok(four:find("\n 2 ", 1, true) and four:find("\n29 ", 1, true) and not four:find("\n 3 ", 1, true), four)
  T.raises(function() t:show({columns = "every"}) end, "bad option 'columns' (expected \"fit\" or \"all\", got string \"every\")")
  local d = data.from({text = {"hi", "hello"}, x = {1.5, 2.5}}, {columns = {"text", "x"}}):describe()
  T.same(d.columns:column("of"), {"length", "value"})
  T.same(d.columns:column("max"), {5.0, 2.5})
end)

T.test("labels and texts: a Lua array, a table column and a tensor are all accepted", function()
  local t = data.from({label = {"a", "a", "b", data.NA}, y = {1, 1, 2, 2}, text = {"Hi <b>x</b> ann@x.com", data.NA, "B", "c"}})
  local w1 = data.class_weights(t, "label")
  local w2 = data.class_weights(t:column("label"))
  T.same({w2.a, w2.b}, {w1.a, w1.b})
  local wt = data.class_weights(tensor.from({1, 1, 2, 2}))
  local wa = data.class_weights({1, 1, 2, 2})
  T.same({wt[1], wt[2]}, {wa[1], wa[2]})
  T.near(data.class_weights(tensor.from({true, true, true, false}))[false], 2, 1e-12)
  T.raises(function() data.class_weights(tensor.from({{1, 2}})) end, "bad argument #1 'labels' (expected a 1-D tensor, got shape [1,2])")
  T.raises(function() data.class_weights(t) end, "bad argument #2 'label' (expected string, got no value)")
  -- texts: an array (with data.NA, as t:column gives) comes back as an array
  local masked, rep = data.mask_pii(t:column("text"))
  T.same(masked, {"Hi <b>x</b> [EMAIL]", data.NA, "B", "c"})
  T.eq(rep.email, 1)
  local plain, r = data.strip_html(t:column("text"))
  T.same(plain, {"Hi x ann@x.com", data.NA, "B", "c"})
  T.eq(r.cells_changed, 1)
  T.same((data.strip_urls({"see www.a.com"}, {replace = "<u>"})), {"see <u>"})
  T.raises(function() data.lower({1, 2}) end, "column 'text' is integer; text cleaning works on string columns")
  -- columns: tensors in data.from and add_column
  local ft = data.from({x = tensor.from({1.5, 2.5}), k = tensor.from({1, 2})})
  T.same(ft:types(), {x = "number", k = "integer"})
  T.same(t:add_column("z", tensor.from({1, 2, 3, 4})):column("z"), {1, 2, 3, 4})
  T.raises(function() t:add_column("z", tensor.from({1, 2})) end, "bad argument #2 'values' (expected a 1-D tensor of length 4, got shape [2])")
  T.same(t:add_column("copy", t:column("label")):column("copy"), t:column("label"))
end)

T.test("declared options: other libraries' names point to Lathe's", function()
  local t = data.from({x = {1, 2, 3, 4}})
  T.raises(function() data.split(t, {test_size = 0.2}) end, "unknown option 'test_size'; Lathe calls it 'test'")
  T.raises(function() data.split(t, {random_state = 1}) end, "Lathe calls it 'seed'")
  T.raises(function() data.read_csv("x.csv", {delimiter = ";"}) end, "Lathe calls it 'sep'")
  T.raises(function() t:sample(2, {sed = 1}) end, "unknown option 'sed'; did you mean 'seed'?")
end)
