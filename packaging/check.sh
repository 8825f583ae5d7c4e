#!/usr/bin/env bash
# Checks the packages built from a build folder: builds them (cpack, from the folder as it
# was configured, whatever its install prefix), compares their file lists with
# packaging/*.files, runs lintian (no errors allowed), installs the .deb into a scratch root
# (dpkg -x), starts the daemon from there with the mock vendor and reads a message from it;
# then builds the plugin template against the unpacked tickerd-dev, drops the plugin into the
# running daemon's drop-in folder and reads a message from it too.
# Usage: packaging/check.sh BUILD_DIR   (built: the daemon and the vendor plugins)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(realpath "$1")
here=$(pwd)

rm -f "$dir"/*.deb "$dir"/*.rpm
(cd "$dir" && cpack -G "DEB;RPM" >/dev/null)
deb=$(ls "$dir"/tickerd_*.deb)
dev=$(ls "$dir"/tickerd-dev_*.deb)

echo "-- file lists"
check_list() {  # check_list NAME ACTUAL
    if ! diff -u "packaging/$1.files" <(echo "$2"); then
        echo "packaging/$1.files differs from the package (+ is what the package has)" >&2
        exit 1
    fi
}
deb_files() { dpkg-deb -c "$1" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | grep -v '^$' | sort; }
check_list tickerd.deb "$(deb_files "$deb")"
check_list tickerd-dev.deb "$(deb_files "$dev")"
if command -v rpm >/dev/null; then
    # (less rpmbuild's /usr/lib/.build-id links, whose names change with every build)
    rpm_files() { rpm -qlp "$1" 2>/dev/null | grep -v '^/usr/lib/.build-id' | sort; }
    check_list tickerd.rpm "$(rpm_files "$dir"/tickerd-0*.rpm)"
    check_list tickerd-devel.rpm "$(rpm_files "$dir"/tickerd-devel-*.rpm)"
fi

echo "-- lintian"
for package in "$deb" "$dev"; do
    lintian --tag-display-limit 0 "$package" | tee "$dir/lintian.log"
    if grep -q '^E:' "$dir/lintian.log"; then
        echo "lintian reports errors for $(basename "$package")" >&2
        exit 1
    fi
done

# Waits (5 s) until the daemon's latest AAPL market_data message comes from vendor $1.
expect_message_from() {
    local message=""
    for _ in $(seq 50); do
        message=$(curl -fsS "http://127.0.0.1:$port/streaming/latest/stream:market_data:AAPL")
        case $message in *"\"vendor\":\"$1\""*)
            echo "message from $2: ${message:0:120}…"
            return 0 ;;
        esac
        sleep 0.1
    done
    echo "no message from $2:" >&2
    cat "$root/daemon.log" >&2
    exit 1
}

echo "-- the installed daemon, from a scratch root"
root=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$root"' EXIT
dpkg -x "$deb" "$root"
cat > "$root/mock.json" <<JSON
{"vendors": [{"name": "mock", "plugin": "mock"}, {"name": "hello", "plugin": "hello"}],
 "instruments": [{"symbol": "AAPL", "data_types": ["market_data"]}],
 "cadences": {"market_data": {"interval_seconds": 0.2}}}
JSON
# Modes set, not left to the umask: the daemon refuses plugins group or others can write.
mkdir -p -m 755 "$root/drop-in"
"$root/usr/bin/tickerd" --config "$root/mock.json" --plugin-dir "$root/usr/lib/tickerd/vendors" \
    --plugin-dir "$root/drop-in" --state-dir "$root/state" --listen 127.0.0.1:0 \
    --port-file "$root/port" >"$root/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$root/port" ] && break; sleep 0.1; done
port=$(cat "$root/port")
curl -fsS -X POST "http://127.0.0.1:$port/streaming/config/workers/start-all" >/dev/null
expect_message_from mock "the installed daemon"
for vendor in mock yfinance alphavantage; do
    grep -q "plugin $vendor .* loaded from $root/usr/lib/tickerd/vendors" "$root/daemon.log" ||
        { echo "the packaged $vendor plugin did not load" >&2; exit 1; }
done

echo "-- a third-party plugin built against the unpacked tickerd-dev, dropped into it"
dpkg -x "$dev" "$root"
cp -r "$root/usr/share/tickerd/plugin-template" "$root/hello"
cmake -S "$root/hello" -B "$root/hello/build" -G Ninja -DCMAKE_PREFIX_PATH="$root/usr" >/dev/null
cmake --build "$root/hello/build" >/dev/null
install -m 755 "$root/hello/build/hello.so" "$root/drop-in/"
expect_message_from hello "the dropped-in plugin"
cd "$here"
echo "packages OK"
