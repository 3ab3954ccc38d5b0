#!/bin/sh
# Minimal HTTP/1.0 service for the mini-lab (hosts and guests), run per connection by
# `busybox nc -ll -p PORT -e http.sh`: any GET answers 200 with the body "NAME\n"
# (HATWIN_NAME), so a client sees who served it. Reads the request head first so that closing
# the connection does not reset it under unread data.
name=${HATWIN_NAME:-unknown}
read -r request || exit 0
while read -r header; do
  case "$header" in
    ''|"$(printf '\r')") break ;;
  esac
done
body="$name
"
printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body"
