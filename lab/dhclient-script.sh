#!/bin/sh
# shellcheck disable=SC2154 # dhclient sets reason, interface and the new_*/old_* variables
# ISC dhclient's script for the lab's host (-sf), never this machine's own (Debian's would rewrite
# /etc/resolv.conf). It does to wifibox0's address and route what Debian's dhclient-script does,
# inside the namespace dhclient runs in, and records each call as a JSON line:
#   - a lease (REBOOT, BOUND: "bound"; RENEW, REBIND: "renew") and its loss (EXPIRE, FAIL, RELEASE,
#     STOP: "deconfig") in the events file, the format of the lab's udhcpc script, so the probes
#     follow the host's resolv.conf as it would change;
#   - every call, PREINIT included, in the events file's ".all" sibling.
# The lab writes a copy with the events file's path filled in (dhclient runs its script with an environment of
# its own making, so the path cannot come from ours).
events='@EVENTS@'
now=$(date +%s%3N)
printf '{"reason":"%s","at":%s,"ip":"%s","old":"%s"}\n' "$reason" "$now" "$new_ip_address" "$old_ip_address" >> "$events.all"

lease() {
  printf '{"event":"%s","at":%s,"ip":"%s","dns":"%s","lease":"%s","router":"%s"}\n' \
    "$1" "$now" "$new_ip_address" "$new_domain_name_servers" "$new_dhcp_lease_time" "$new_routers" >> "$events"
}

prefix() {
  # The prefix length of a dotted netmask.
  bits=0
  for octet in $(echo "${1:-255.255.255.0}" | tr '.' ' '); do
    while [ "$octet" -gt 0 ]; do
      bits=$((bits + (octet & 1)))
      octet=$((octet >> 1))
    done
  done
  echo "$bits"
}

case "$reason" in
  PREINIT)
    ip link set dev "$interface" up
    ;;
  BOUND|RENEW|REBIND|REBOOT)
    if [ -n "$old_ip_address" ] && [ "$old_ip_address" != "$new_ip_address" ]; then
      ip -4 addr flush dev "$interface"
    fi
    ip -4 addr replace "$new_ip_address/$(prefix "$new_subnet_mask")" dev "$interface"
    for router in $new_routers; do
      ip -4 route replace default via "$router" dev "$interface"
      break
    done
    case "$reason" in
      BOUND|REBOOT) lease bound ;;
      *) lease renew ;;
    esac
    ;;
  EXPIRE|FAIL|RELEASE|STOP)
    ip -4 addr flush dev "$interface"
    lease deconfig
    ;;
esac
exit 0
