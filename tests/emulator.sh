# Sourced by the test scripts (tests/c/run.sh, tests/asan/run.sh, bindings/cpp/test.sh):
# one way to run the emulator beside a test program.
#
#   start_emulator BIN DIR [ARGS...]   starts BIN --port 0 --quiet ARGS, its output in DIR;
#                                      sets EMU_PID and URL (http://127.0.0.1:PORT), or prints
#                                      what the emulator said and returns 1 if it did not start
#   stop_emulator                      stops it (safe to call when none is running)

EMU_PID=
URL=

start_emulator() {
    local bin=$1 dir=$2
    shift 2
    "$bin" --port 0 --quiet "$@" >"$dir/emu.out" 2>"$dir/emu.err" &
    EMU_PID=$!
    URL=
    local _
    for _ in $(seq 100); do
        URL=$(sed -n 's/^aoai-emulator listening on \(http:\/\/127\.0\.0\.1:[0-9]*\)$/\1/p' "$dir/emu.out")
        [ -n "$URL" ] && return 0
        kill -0 "$EMU_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "the emulator did not start:" >&2
    cat "$dir/emu.out" "$dir/emu.err" >&2
    return 1
}

stop_emulator() {
    if [ -n "$EMU_PID" ]; then
        kill "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
        EMU_PID=
    fi
}
