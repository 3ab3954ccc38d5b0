#!/bin/sh
# SMTP/FTP-style banner service for the mini-lab (hosts and guests), run per connection by
# `busybox nc -ll -p PORT -e banner.sh`: greets with "220 NAME ...", answers each line with
# "250 NAME", ends with "221" on QUIT. NAME (HATWIN_NAME) tells the client who served it.
name=${HATWIN_NAME:-unknown}
echo "220 $name hatwin ready"
while read -r line; do
  case "$line" in
    QUIT*|quit*) echo "221 $name bye"; exit 0 ;;
    *) echo "250 $name" ;;
  esac
done
