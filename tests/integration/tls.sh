#!/usr/bin/env bash
# Real TLS: nginx with client-certificate verification in front of the
# reference platform; certificates made with openssl here. A wrong CA or a
# missing client certificate fails with a clear error and loses nothing;
# fixing the configuration (SIGHUP) delivers everything.
. "$(dirname "$0")/lib.sh"
: "${RSGW_PLATFORM:?RSGW_PLATFORM must point to the rsgw-platform binary}"
command -v nginx >/dev/null || fail "nginx is not installed (the test command installs it)"

# --- certificates: a CA, the server (127.0.0.1), the gateway client, and a stranger CA.
cd "$TMP"
cat >ext.cnf <<'CNF'
[server]
subjectAltName = IP:127.0.0.1, DNS:localhost
extendedKeyUsage = serverAuth
[client]
extendedKeyUsage = clientAuth
CNF
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=rsgw test CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=stranger CA" -keyout other.key -out other.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -extensions server -out server.pem 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=IT-GW-1" -keyout client.key -out client.csr 2>/dev/null
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -extensions client -out client.pem 2>/dev/null
cd - >/dev/null

# --- the platform on loopback, nginx in front of it.
"$RSGW_PLATFORM" --listen 127.0.0.1:0 --db "$TMP/platform.db" >"$TMP/platform.out" 2>"$TMP/platform.log" &
PIDS+=($!)
wait_for 10 grep -q '^listening on' "$TMP/platform.out" || fail "platform did not start"
PLATFORM_PORT=$(sed -n 's/^listening on [^:]*:\([0-9]*\).*/\1/p' "$TMP/platform.out")

free_port() {
    # Below the kernel's ephemeral range (32768-60999), where other tests'
    # outgoing connections take their local ports.
    local p
    while :; do
        p=$((10000 + RANDOM % 20000))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}
mkdir -p "$TMP/nginx"
# As root nginx would drop its workers to "nobody", who cannot use our 0700 temp dir.
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
write_nginx_conf() {
cat >"$TMP/nginx/nginx.conf" <<NGX
$user_line
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx.log info;
events { worker_connections 64; }
http {
    access_log $TMP/nginx-access.log;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    map \$ssl_client_s_dn \$client_cn {
        default "";
        "~(^|,)CN=(?<cn>[^,]+)" \$cn;
    }
    server {
        listen 127.0.0.1:$TLS_PORT ssl http2;
        ssl_certificate $TMP/server.pem;
        ssl_certificate_key $TMP/server.key;
        ssl_client_certificate $TMP/ca.pem;
        ssl_verify_client on;
        client_max_body_size 32m;
        client_body_buffer_size 32m;
        location / {
            proxy_pass http://127.0.0.1:$PLATFORM_PORT;
            proxy_http_version 1.1;
            proxy_set_header X-Client-CN \$client_cn;
        }
    }
}
NGX
}
# Not in PIDS: a SIGKILLed master would orphan its worker (and the worker would
# keep ctest's output pipe open). TERM makes the master stop its workers.
cleanup_extra() {
    [ -n "${NGINX_PID:-}" ] && kill -TERM "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
}
# A port can still be taken between the check and nginx's bind: try a few.
for attempt in 1 2 3 4 5; do
    TLS_PORT=$(free_port)
    write_nginx_conf
    nginx -c "$TMP/nginx/nginx.conf" -p "$TMP/nginx" >>"$TMP/nginx.log" 2>&1 &
    NGINX_PID=$!
    if wait_for 10 bash -c "(exec 3<>/dev/tcp/127.0.0.1/$TLS_PORT) 2>/dev/null"; then
        break
    fi
    kill -TERM "$NGINX_PID" 2>/dev/null; wait "$NGINX_PID" 2>/dev/null || true
    NGINX_PID=
    [ "$attempt" -lt 5 ] || fail "nginx did not start: $(tail -2 "$TMP/nginx.log")"
done

# --- a gateway with a lane and the platform as its upstream.
start_sim sim --listen 127.0.0.1:0 --random 200 --interval 5 --seed 11 --ack-log "$TMP/acks.txt"
upstream() { # CA CERT KEY
    printf '[upstream province]\nurl = https://127.0.0.1:%s\nca_file = %s\n' "$TLS_PORT" "$1"
    [ -n "${2:-}" ] && printf 'cert_file = %s\nkey_file = %s\n' "$2" "$3"
    printf 'backoff_min_ms = 100\nbackoff_max_ms = 500\npull_interval_ms = 500\n'
}
platform_count() {
    curl -s "http://127.0.0.1:$PLATFORM_PORT/admin/gateways/IT-GW-1/seqs" | wc -l
}

# 1. Wrong CA: the gateway refuses the server, says why, keeps everything.
write_config "$TMP/gw.ini" "$(tcp_lane L1 "$SIM_PORT")" "$(upstream "$TMP/other.pem" "$TMP/client.pem" "$TMP/client.key")"
start_gateway "$TMP/gw.ini" gateway
wait_for 30 bash -c "[ \$(wc -l <'$TMP/acks.txt' 2>/dev/null || echo 0) -ge 200 ]" || fail "lane stalled while the upstream was failing"
wait_for 10 grep -qi 'certificate' "$TMP/gateway.log" || fail "no clear TLS error in the log: $(grep -i province "$TMP/gateway.log" | tail -3)"
[ "$(platform_count)" -eq 0 ] || fail "records reached the platform through a server the gateway should not trust"
ok "wrong CA: refused with '$(grep -i 'certificate' "$TMP/gateway.log" | tail -1 | cut -c1-160)'"

# 2. No client certificate: nginx refuses; the gateway says so; nothing lost.
write_config "$TMP/gw.ini" "$(tcp_lane L1 "$SIM_PORT")" "$(upstream "$TMP/ca.pem")"
kill -HUP "$GW_PID"
wait_for 15 bash -c "grep -q 'config_reload\|reloaded' '$TMP/gateway.log'" || fail "reload not applied"
wait_for 15 bash -c "grep -q 'No required SSL certificate' <(tail -n 20 '$TMP/gateway.log')" || fail "no clear error for the missing client certificate: $(tail -3 "$TMP/gateway.log")"
[ "$(platform_count)" -eq 0 ] || fail "records accepted without a client certificate"
ok "missing client certificate: refused with '$(grep -i 'province' "$TMP/gateway.log" | tail -1 | cut -c1-160)'"

# 3. Right CA and client certificate: everything arrives, once, in order.
write_config "$TMP/gw.ini" "$(tcp_lane L1 "$SIM_PORT")" "$(upstream "$TMP/ca.pem" "$TMP/client.pem" "$TMP/client.key")"
kill -HUP "$GW_PID"
total() { "$RSGW" records --db "$(db)" --all --json | jq 'length'; }
wait_for 60 bash -c "[ \$(curl -s http://127.0.0.1:$PLATFORM_PORT/admin/gateways/IT-GW-1/seqs | wc -l) -ge \$('$RSGW' records --db '$(db)' --all --json | jq length) ]" || fail "not delivered over mutual TLS: platform has $(platform_count) of $(total)"
kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway did not stop cleanly"
n=$(total)
curl -s "http://127.0.0.1:$PLATFORM_PORT/admin/gateways/IT-GW-1/seqs" >"$TMP/seqs.txt"
diff <(seq 1 "$(wc -l <"$TMP/seqs.txt")") "$TMP/seqs.txt" >/dev/null || fail "platform seqs are not 1..N in order"
[ "$(wc -l <"$TMP/seqs.txt")" -ge $((n - 1)) ] || fail "platform has $(wc -l <"$TMP/seqs.txt") of $n records"
grep -q '"POST /v1/gateways/IT-GW-1/records HTTP/2.0" 200' "$TMP/nginx-access.log" || fail "uploads did not use HTTP/2 through nginx: $(tail -2 "$TMP/nginx-access.log")"
ok "mutual TLS through nginx: $(wc -l <"$TMP/seqs.txt") records delivered in order, none lost"
