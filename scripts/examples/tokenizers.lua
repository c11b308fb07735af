-- Lathe workshop: how text becomes token ids.
-- Run it with:  lathe run scripts/examples/tokenizers.lua
-- Or step through it at the prompt: each "-- %%" line starts a cell you can paste.

-- %%
-- A few sentences to learn a vocabulary from (in a real project: your own data).
corpus = {
  "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
  "However little known the feelings or views of such a man may be on his first entering a neighbourhood,",
  "this truth is so well fixed in the minds of the surrounding families, that he is considered",
  "the rightful property of some one or other of their daughters.",
  "My dear Mr. Bennet, said his lady to him one day, have you heard that Netherfield Park is let at last?",
}

-- %%
-- Three ways to cut text: characters, words, and byte-level BPE (GPT-2 style subwords).
chars = text.char_vocab(corpus)
words = text.word_vocab(corpus, {lowercase = true})
bpe = text.train_bpe(corpus, {vocab_size = 400, min_frequency = 2, special_tokens = {"<|endoftext|>", "<pad>"}})
print(chars)
print(words)
print(bpe)

-- %%
-- The same sentence in each: more tokens with small units, unknown words with whole words.
sentence = "A single man of large fortune; four or five thousand a year."
for _, t in ipairs({{"chars", chars}, {"words", words}, {"bpe", bpe}}) do
  local name, tok = t[1], t[2]
  print(string.format("%-5s %3d tokens: %s", name, #tok:encode(sentence), table.concat(tok:tokenize(sentence), " | ")))
end

-- %%
-- What the pipeline does, step by step: the pre-tokenizer cuts words (Ġ marks a space),
-- then BPE merges learned pairs. Offsets are byte positions in the text.
show(bpe:pre_tokenize("It's 2024, isn't it?"))
show(bpe:encode_detailed("It's a truth."))

-- %%
-- Byte-level BPE never meets an unknown character: anything decodes back exactly.
s = "Café, 東京, 😀 — all fine."
print(bpe:decode(bpe:encode(s)) == s)

-- %%
-- A batch for a model: ids and attention mask as int64 tensors [batch, length].
ids, mask = bpe:encode_batch({"a single man", "the minds of the surrounding families"}, {max_length = 12})
print(ids, mask)
show(bpe:decode_batch(ids))

-- %%
-- Fine-tuning on prompt + response: labels are -100 on the prompt (ignored by the loss).
prompt, answer = "Question: what is universally acknowledged? Answer:", " a truth"
ids, labels = bpe:mask_prompt(prompt .. answer .. "<|endoftext|>", #prompt)
show(ids)
show(labels)

-- %%
-- Save it as a Hugging Face tokenizer.json (the Python `tokenizers` library loads it too).
path = os.tmpname()
bpe:save(path, {overwrite = true})
show(text.load_tokenizer(path):encode("a single man"))
os.remove(path)
