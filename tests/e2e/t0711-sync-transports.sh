#!/bin/sh
test_description='git mlp push / fetch over git daemon and smart HTTP on 127.0.0.1'
. "$(dirname "$0")/../lib.sh"

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT: until something listens there (at most ~5 s).
wait_port() {
	python3 -c '
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)' "$1"
}

stop_servers() {
	for f in "$TRASH_DIRECTORY"/*.pid; do
		test -f "$f" && kill "$(cat "$f")" 2>/dev/null
	done
}
trap 'stop_servers; test_exit_trap_' EXIT

if git daemon --help >/dev/null 2>&1 || test -x "$(git --exec-path)/git-daemon"; then
	test_set_prereq DAEMON
else
	echo "# git daemon is missing (Debian: package git-daemon-run or git): skipping its tests"
fi
LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
if test -x "$LIGHTTPD" && test -x "$(git --exec-path)/git-http-backend"; then
	test_set_prereq HTTP
else
	echo "# lighttpd is missing (Debian package lighttpd; make deps installs it): skipping smart HTTP tests"
fi

run() {
	run_dir_=$1
	shift
	git -C "$run_dir_" -c mlp.system.interval=0 mlp run "$@" 2>/dev/null
}

test_expect_success 'setup: served repositories and a clone with runs' '
	mkdir srv &&
	git init -q --bare srv/d.git &&
	git init -q --bare srv/h.git &&
	git -C srv/d.git config daemon.receivepack true &&
	git -C srv/h.git config http.receivepack true &&
	mlp_new_repo a &&
	run a -n one -p lr=0.5 -- sh -c "echo loss: 0.75" &&
	run a -n two -- sh -c "echo acc: 0.5" &&
	mlp_runs -C a | sort >ids
'

test_expect_success DAEMON 'git daemon: push, ls-remote, fetch into another clone' '
	port=$(free_port) &&
	{ git daemon --reuseaddr --enable=receive-pack --export-all --base-path="$TRASH_DIRECTORY/srv" \
		--listen=127.0.0.1 --port=$port --pid-file="$TRASH_DIRECTORY/daemon.pid" \
		"$TRASH_DIRECTORY/srv" >daemon.log 2>&1 & } &&
	wait_port $port &&
	url=git://127.0.0.1:$port/d.git &&
	git -C a mlp push --all "$url" >out 2>err &&
	test_grep "2 pushed" err &&
	git -C a mlp ls-remote "$url" >ls &&
	test_line_count = 2 ls && test_grep ! "differs" ls &&
	mlp_new_repo b &&
	git -C b mlp fetch "$url" >out 2>err &&
	test_grep "2 new" err &&
	mlp_runs -C b | sort >got && test_cmp ids got &&
	git -C b mlp show one --format=json >show.json &&
	json_check "d[\"params\"][\"lr\"] == 0.5" show.json &&
	git -C srv/d.git fsck --strict 2>&1 &&
	kill "$(cat daemon.pid)" && rm daemon.pid
'

test_expect_success HTTP 'smart HTTP (git http-backend behind lighttpd): push, merge, fetch' '
	port=$(free_port) &&
	cat >lighttpd.conf <<-CONF &&
	server.document-root = "$TRASH_DIRECTORY/srv"
	server.port = $port
	server.bind = "127.0.0.1"
	server.modules = ("mod_alias", "mod_cgi", "mod_setenv")
	server.errorlog = "$TRASH_DIRECTORY/lighttpd.log"
	alias.url = ("/git" => "$(git --exec-path)/git-http-backend")
	\$HTTP["url"] =~ "^/git" {
		cgi.assign = ("" => "")
		setenv.add-environment = ("GIT_PROJECT_ROOT" => "$TRASH_DIRECTORY/srv", "GIT_HTTP_EXPORT_ALL" => "1")
	}
	CONF
	{ "$LIGHTTPD" -D -f lighttpd.conf >lighttpd.out 2>&1 & echo $! >lighttpd.pid; } &&
	wait_port $port &&
	url=http://127.0.0.1:$port/git/h.git &&
	git -C a mlp push --all "$url" >out 2>err &&
	test_grep "2 pushed" err &&
	git clone -q "$url" h 2>/dev/null || mlp_new_repo h &&
	git -C h mlp fetch "$url" >out 2>err &&
	test_grep "2 new" err &&
	git -C a mlp log tag --run one side=a &&
	git -C h mlp log tag --run one side2=h &&
	git -C a mlp push "$url" one >out 2>err &&
	git -C h mlp push "$url" one >out 2>err &&
	test_grep "^merged .*one$" out &&
	git -C a mlp fetch "$url" >out 2>err &&
	git -C a mlp show one --format=json >show.json &&
	json_check "d[\"tags\"] == {\"side\": \"a\", \"side2\": \"h\"}" show.json &&
	git -C srv/h.git fsck --strict 2>&1 &&
	kill "$(cat lighttpd.pid)" && rm lighttpd.pid
'

test_done
