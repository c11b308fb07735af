"""The prompt driven as a person drives it: a real terminal (tmux), keys typed, the screen read."""
import os
import shutil
import subprocess
import tempfile
import time
import uuid

import pytest

# tmux is installed by scripts/setup: its absence is a failure, not a skip
assert shutil.which("tmux"), "tmux is not installed (scripts/setup installs it)"


class Term:
    def __init__(self, cmd, env=None, width=120, height=40):
        self.name = "lathe-" + uuid.uuid4().hex[:8]
        self.sock = "lathe-test-" + self.name
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["TERM"] = "xterm"
        envs = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        # -u: the terminal speaks UTF-8 whatever the host's locale
        subprocess.run(["tmux", "-u", "-L", self.sock, "new-session", "-d", "-s", self.name, "-x", str(width),
                        "-y", str(height), f"env {envs} {cmd}"], check=True, env=full_env)

    def tmux(self, *args):
        return subprocess.run(["tmux", "-u", "-L", self.sock, *args], capture_output=True, text=True)

    def type(self, text):
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def key(self, *keys):
        self.tmux("send-keys", "-t", self.name, *keys)

    def line(self, text):
        self.type(text)
        self.key("Enter")

    def screen(self):
        return self.tmux("capture-pane", "-t", self.name, "-p", "-S", "-200").stdout

    def wait_for(self, needle, timeout=10.0, count=1):
        # capture-pane drops trailing blanks at line ends
        needle = "\n".join(l.rstrip(" ") for l in needle.split("\n"))
        end = time.time() + timeout
        while time.time() < end:
            s = self.screen()
            if s.count(needle) >= count:
                return s
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {needle!r}; screen:\n{self.screen()}")

    def ready(self, prompt="lathe>", timeout=10.0):
        # Wait until Lathe is back at its prompt: between lines the terminal is in cooked mode, where
        # the line discipline itself eats some keys (Ctrl-R is VREPRINT there), as in any shell
        end = time.time() + timeout
        while time.time() < end:
            lines = [l for l in self.screen().split("\n") if l.strip()]
            if lines and lines[-1].rstrip() == prompt:
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for the prompt; screen:\n{self.screen()}")

    def alive(self):
        return self.tmux("has-session", "-t", self.name).returncode == 0

    def close(self):
        self.tmux("kill-server")


@pytest.fixture
def home():
    d = tempfile.mkdtemp(prefix="lathe-pty-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def term(lathe, home):
    t = Term(lathe, env={"LATHE_HISTORY": os.path.join(home, "hist"), "HOME": home})
    try:
        t.wait_for("lathe> ")
        yield t
    finally:
        t.close()


def test_autoprint_and_continuation(term):
    term.line("x = 41")
    term.line("x + 1")
    term.wait_for("\n42\n")
    term.line("for i = 1, 3 do")
    term.wait_for(".. ")
    term.line("  x = x + i")
    term.line("end")
    term.line("x")
    term.wait_for("\n47\n")
    term.line("{1, 2, name = 'lathe'}")
    term.wait_for('{1, 2, name = "lathe"}')


def test_line_editing(term):
    term.type("y = 10")
    term.key("Left", "Left")       # cursor before "10"
    term.type("2")                 # y = 210
    term.key("End")
    term.type("0")                 # y = 2100
    term.key("Enter")
    term.key("C-a")
    term.type("y")
    term.key("Enter")
    term.wait_for("\n2100\n")


def test_tab_completion(term):
    term.type("string.fo")
    term.key("Tab")
    term.type('("%d", 7)')
    term.key("Enter")
    term.wait_for('string.format("%d", 7)')
    term.wait_for("\n7\n")
    term.line('s = "abc"')
    term.type("s:up")
    term.key("Tab")
    term.type("()")
    term.key("Enter")
    term.wait_for("\nABC\n")


def test_ctrl_c_interrupts_running_code_and_keeps_state(term):
    term.line("kept = 'still here'")
    term.line("while true do end")
    time.sleep(0.5)
    term.key("C-c")
    term.wait_for("interrupted!")
    term.line("kept")
    term.wait_for("\nstill here\n")
    assert term.alive()


def test_ctrl_c_clears_the_line(term):
    term.type("this is not lua")
    term.key("C-c")
    term.line("1 + 1")
    s = term.wait_for("\n2\n")
    assert "syntax error" not in s


def test_ctrl_c_cancels_a_continuation(term):
    term.line("for i = 1, 2 do")
    term.wait_for(".. ")
    term.key("C-c")
    term.line("'fresh'")
    s = term.wait_for("\nfresh\n")
    assert "expected" not in s


def test_help_and_errors_keep_the_session(term):
    term.line("?lathe.seed")
    term.wait_for("Example:")
    term.line("lathe.seed('x')")
    term.wait_for("bad argument #1 'n' (expected integer >= 0, got string \"x\")")
    term.line("error('boom')")
    term.wait_for("boom")
    term.line("'alive'")
    term.wait_for("\nalive\n")


def test_ctrl_d_saves_history_and_a_new_session_recalls_it(lathe, home):
    env = {"LATHE_HISTORY": os.path.join(home, "hist"), "HOME": home}
    t = Term(lathe, env=env)
    try:
        t.wait_for("lathe> ")
        t.line("remember_me = 123")
        t.line("for i = 1, 2 do")
        t.line("print(i * 10)")
        t.line("end")
        t.wait_for("\n20\n")
        t.key("C-d")
        end = time.time() + 5
        while t.alive() and time.time() < end:
            time.sleep(0.05)
        assert not t.alive()
    finally:
        t.close()
    assert os.path.exists(os.path.join(home, "hist"))
    t2 = Term(lathe, env=env)
    try:
        t2.wait_for("lathe> ")
        t2.key("Up")   # the multi-line for-loop comes back as one entry
        t2.key("Up")
        t2.key("Enter")
        t2.line("remember_me")
        t2.wait_for("\n123\n")
        t2.line(":history 5")
        t2.wait_for("remember_me = 123")
        # Ctrl-R searches backwards
        t2.ready()
        t2.key("C-r")
        t2.type("remember_me =")
        t2.key("Enter")
        t2.line("remember_me + 1")
        t2.wait_for("\n124\n")
    finally:
        t2.close()


def test_save_then_run_reproduces_the_output(lathe, term, home):
    term.line("lathe.seed(11)")
    term.line("t = {}")
    term.line("for i = 1, 4 do t[i] = i * i end")
    term.line("t")
    term.wait_for("{1, 4, 9, 16}")
    term.line("nosuch_function()")
    term.wait_for("attempt to call a nil value")
    term.line("#t, t[4]")
    term.wait_for("16\nlathe>")
    path = os.path.join(home, "session.lua")
    term.line(f":save {path}")
    term.wait_for("saved ")
    term.line(f":save {path}")
    term.wait_for("already exists; use :save!")
    out = subprocess.run([lathe, "run", path], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "{1, 4, 9, 16}\n4\t16\n"
    text = open(path).read()
    assert text.startswith("-- Lathe session saved by Lathe")
    assert "nosuch_function" not in text
    assert text.count("\n-- %%\n") == 6


def test_who_time_and_reset(term):
    term.line("alpha = 1")
    term.line(":who")
    term.wait_for("alpha  number  1")
    term.line(":time for i = 1, 1e6 do end")
    term.wait_for("cpu ")
    term.line(":reset")
    term.wait_for("fresh Lua state")
    term.line("alpha")
    term.wait_for("\nnil\n")


def test_ctrl_c_stops_training_after_a_step_and_keeps_the_session(term, home):
    ck = os.path.join(home, "ck")
    term.line("g = nn.gpt{vocab = 64, layers = 2, dim = 64, heads = 4, seq = 32, seed = 1}")
    term.line("data = tensor.randint(0, 64, {512, 33}, {seed = 2})")
    term.line(f'h = train.fit{{model = g, train = data, epochs = 50, batch_size = 8, checkpoint_dir = "{ck}"}}')
    time.sleep(3)
    term.key("C-c")
    term.wait_for("interrupted after step", timeout=30)
    term.line("h.interrupted and h.steps > 0 and h.checkpoint ~= nil and 'kept' or 'lost'")
    term.wait_for("\nkept\n")
    # the model is usable and training resumes from the checkpoint
    term.line("#g:generate({1, 2, 3}, {max_tokens = 3, greedy = true})")
    term.wait_for("\n3\n")
    term.line(f'h2 = train.fit{{model = g, train = data, epochs = 50, batch_size = 8, checkpoint_dir = "{ck}", resume = true, max_steps = h.steps + 2, quiet = true}}')
    term.line("h2.steps == h.steps + 2")
    term.wait_for("\ntrue\n", timeout=60)
    assert term.alive()


def test_non_ascii_text_is_typed_edited_recalled_and_completed_whole(lathe, home):
    # LANG/LC_ALL unset, as on a bare server: Lathe still reads UTF-8 from the terminal
    t = Term(lathe, env={"LATHE_HISTORY": os.path.join(home, "hist"), "HOME": home, "LANG": "", "LC_ALL": ""})
    try:
        t.wait_for("lathe> ")
        t.line('print("café あいう 😀 e\u0301")')
        t.wait_for("\ncafé あいう 😀 e\u0301\n")
        t.ready()
        # cursor moves and deletion work on whole characters (wide and emoji included)
        t.type('w = "Zürich 東京😀"')
        t.key("Left", "Left", "BSpace")  # deletes 京 (the cursor was after 😀 and the quote)
        t.key("Enter")
        t.line("print(w .. '|' .. #w .. '|' .. utf8.len(w))")
        t.wait_for("\nZürich 東😀|15|9\n")
        t.ready()
        # history: Up recalls the line with its characters intact; edit the recalled line
        t.key("Up")
        t.key("Up")
        t.key("End")
        t.key("Left", "Left", "BSpace")
        t.type("x")
        t.key("Enter")
        t.line("print(w)")
        t.wait_for("\nZürich x😀\n")
        t.ready()
        # Ctrl-R finds a line by a Japanese word
        t.line('jp = "こんにちは"')
        t.line("jp = nil")
        t.ready()
        t.key("C-r")
        t.type("こんにち")
        t.key("Enter")
        t.line("print(jp)")
        t.wait_for("\nこんにちは\n")
        t.ready()
        # completion after non-ASCII text on the line replaces the right word
        t.type('s = "é" .. stri')
        t.key("Tab")
        t.type('.upper("x")')
        t.key("Enter")
        t.line("print(s)")
        t.wait_for("\néX\n")
        assert "syntax error" not in t.screen()
    finally:
        t.close()


def test_second_ctrl_c_during_a_long_step_keeps_the_session(term, home):
    # a step of about a second: the second Ctrl-C must arrive while the step still runs. Two keys
    # sent in one burst merge into one signal, and a step can end in the moment between them, so
    # an attempt where it did is run again (resuming) rather than passing without the check.
    ck = os.path.join(home, "ck2")
    term.line("kept = 'still here'")
    term.line("g = nn.gpt{vocab = 256, layers = 4, dim = 256, heads = 4, seq = 128, seed = 1}")
    term.line("data = tensor.randint(0, 256, {256, 129}, {seed = 2})")
    fit = f'h = train.fit{{model = g, train = data, epochs = 50, batch_size = 128, checkpoint_dir = "{ck}"'
    term.line(fit + "}")
    seen = False
    for attempt in range(4):
        time.sleep(3)
        before = term.screen().count("interrupt: still stopping")
        done = term.screen().count("interrupted after step")
        term.key("C-c")
        term.wait_for("interrupt: stopping at the next safe point", count=attempt + 1)
        term.key("C-c")
        term.wait_for("interrupted after step", count=done + 1, timeout=60)
        if term.screen().count("interrupt: still stopping") > before:
            seen = True
            break
        term.ready()
        term.line(fit + ", resume = true}")
    assert seen, term.screen()
    term.line("kept .. ' ' .. tostring(h.interrupted)")
    term.wait_for("\nstill here true\n")
    assert term.alive()
    # only Ctrl-D (or :quit) leaves
    term.key("C-d")
    end = time.time() + 10
    while term.alive() and time.time() < end:
        time.sleep(0.1)
    assert not term.alive()


def test_ctrl_c_during_a_search_finishes_the_trial_then_stops_and_keeps_the_study(term, home):
    db = os.path.join(home, "runs.db")
    term.line(f'track.open("{db}")')
    term.line('s = tune.study{name = "slow", seed = 1}')
    # each trial takes ~1.5 s of Lua work; the first Ctrl-C comes in the middle of one
    term.line('obj = function(t) local x = t:float("x", 0, 1); local c = os.clock(); while os.clock() - c < 1.5 do end; return x end')
    term.ready()
    term.line("s:optimize(obj, {n_trials = 50})")
    term.wait_for("tune: trial 0 finished", timeout=30)
    term.key("C-c")
    term.wait_for("the search stops when this trial ends", timeout=10)
    # (after 2 trials; after 1 when the key fell between two trials)
    screen = term.wait_for("in this call; study:optimize again continues", timeout=30)
    n = 2 if "stopped by Ctrl-C after 2 trials" in screen else 1
    term.ready(timeout=10)
    # the trial running at the key completed; nothing failed; the study goes on where it stopped
    term.line('t = s:trials(); ok = true; for _, st in ipairs(t:column("state")) do ok = ok and st == "COMPLETE" end; print(#t .. " " .. tostring(ok))')
    term.wait_for(f"\n{n} true\n")
    term.line("s:optimize(obj, {n_trials = 1, quiet = true}); print(#s:trials())")
    term.wait_for(f"\n{n + 1}\n", timeout=30)
    # a second Ctrl-C stops the trial itself: FAIL, interrupted
    term.line("s:optimize(obj, {n_trials = 50, quiet = true})")
    time.sleep(0.7)
    term.key("C-c")
    term.wait_for("the search stops when this trial ends", timeout=10, count=2)
    term.key("C-c")
    term.wait_for("stopped by Ctrl-C", timeout=30, count=2)
    term.ready(timeout=10)
    term.line('t = s:trials(); print(#t .. " " .. t:column("state")[#t])')
    term.wait_for(f"\n{n + 2} FAIL\n")
    assert term.alive()
