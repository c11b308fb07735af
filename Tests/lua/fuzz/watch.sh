#!/usr/bin/env bash
# Runs a fuzz child with a watchdog: usage  watch.sh DIR LIMIT COMMAND...
# The child rewrites DIR/current before each call. When one call runs LIMIT seconds, the
# child gets SIGINT (Ctrl-C: long work must stop at it, the child then goes on with the next
# call); 10 seconds later, still the same call, it is killed (a hang). Each action is logged to
# DIR/watchdog. The exit status is the child's.
dir=$1; limit=$2; shift 2
"$@" &
pid=$!
last=""; same=0
while kill -0 "$pid" 2>/dev/null; do
  sleep 1
  cur=$(head -n 1 "$dir/current" 2>/dev/null)
  if [ -n "$cur" ] && [ "$cur" = "$last" ]; then same=$((same + 1)); else same=0; last=$cur; fi
  if [ "$same" -eq "$limit" ]; then
    echo "interrupted after $limit s: $cur" >> "$dir/watchdog"
    kill -INT "$pid" 2>/dev/null
  elif [ "$same" -ge $((limit + 10)) ]; then
    echo "killed: $cur" >> "$dir/watchdog"
    kill -KILL "$pid" 2>/dev/null
    break
  fi
done
wait "$pid"
