#!/usr/bin/env bash
# `make demo`: the demo branch on this machine — the terminal store, the phone line beside it,
# and the kiosk on the screen. On a machine without a screen it renders the kiosk's screens
# to PNG files instead and says how to try the rest. Demo PINs: members 1234, staff 2468.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
DIR=${DEMO_DIR:-var/demo}
DB=$DIR/terminal.db
PHONE_LISTEN=${PHONE_LISTEN:-127.0.0.1:5060}
mkdir -p "$DIR"

# 1. The terminal: created once, then shown (what it holds).
$BIN/lianxin --db "$DB" demo

# 2. Fixed voice prompts rendered once, so every prompt starts at once.
$BIN/lianxin --db "$DB" voice prerender

# 3. The township hub alongside, holding the same demo branch; the terminal enrolls once
#    and syncs (its own history stays; its roster reaches the hub as proposals).
HUB_DB=$DIR/hub.db
HUB_LISTEN=${HUB_LISTEN:-127.0.0.1:8440}
[ -e "$HUB_DB" ] || $BIN/lianxin hub --db "$HUB_DB" demo > /dev/null
# A demo hub made before the hub was encrypted at rest: encrypt it once.
[ -e "$HUB_DB.key" ] || $BIN/lianxin hub --db "$HUB_DB" migrate-encrypt
# A demo hub made before the console: give it the demo's operators.
if ! $BIN/lianxin hub --db "$HUB_DB" operator list --json | grep -q '"demo-county"'; then
  echo lianxin-demo | $BIN/lianxin hub --db "$HUB_DB" operator add demo-county \
    --name "县委组织部（演示）" --role county_admin --password-stdin > /dev/null
  echo lianxin-demo | $BIN/lianxin hub --db "$HUB_DB" operator add demo-town \
    --name "青石镇组织委员（演示）" --role township_operator --township 青石镇 \
    --password-stdin > /dev/null
fi
$BIN/lianxin hub --db "$HUB_DB" serve --listen "$HUB_LISTEN" > "$DIR/hub.log" 2>&1 &
HUB_PID=$!
# 4. The phone line alongside, on loopback (point a PBX or an FXO/GSM gateway at it for real).
$BIN/lianxin --db "$DB" phone --listen "$PHONE_LISTEN" > "$DIR/phone.log" 2>&1 &
PHONE_PID=$!
trap 'kill $PHONE_PID $HUB_PID 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -fsS "http://$HUB_LISTEN/health" > /dev/null 2>&1 && break
  sleep 0.2
done
if ! $BIN/lianxin --db "$DB" sync --status --json | grep -q '"hub_url": "http'; then
  CODE=$($BIN/lianxin hub --db "$HUB_DB" enroll-code --branch DEMO-QSC)
  $BIN/lianxin --db "$DB" enroll --hub "http://$HUB_LISTEN" --code "$CODE" --label 演示活动室
fi
$BIN/lianxin --db "$DB" sync || echo "同步没有成功，终端照常可用（日志 $DIR/hub.log）"
echo "服务中心：http://$HUB_LISTEN（日志 $DIR/hub.log）"
echo "服务中心网页（操作员）：http://$HUB_LISTEN/  演示账号 demo-county 或 demo-town，密码 lianxin-demo"
echo "电话线路：sip:$PHONE_LISTEN（日志 $DIR/phone.log）"

# 5. The kiosk: on the screen if there is one; otherwise pictures of every screen.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] || [ -e /dev/dri/card0 -a -n "${LIANXIN_KMS:-}" ]; then
  echo "触摸屏启动中……（关闭窗口即结束演示）"
  $BIN/lianxin --db "$DB" kiosk
else
  $BIN/lianxin kiosk --screenshots "$DIR/screens"
  $BIN/python scripts/gen_console_docs.py --url "http://$HUB_LISTEN" --out "$DIR/console" \
    || echo "服务中心网页截图没有成功（需要 chromium）"
  cat <<TXT

This machine has no screen, so the kiosk's screens were rendered to $DIR/screens/*.png
(the committed set is in docs/screens/), and the hub console's pages to $DIR/console/
(docs/console/). The console is at http://$HUB_LISTEN/ (demo-county / lianxin-demo). On a machine with a display, \`make demo\` opens
the kiosk full screen. Meanwhile try the terminal from the command line, for example:
  $BIN/lianxin --db $DB dues status QS004
  $BIN/lianxin --db $DB study recommend QS001
  $BIN/lianxin --db $DB kiosk --audit
The hub (http://$HUB_LISTEN) and the phone line (sip:$PHONE_LISTEN) run until you press
Ctrl-C here. Call the line with
any SIP phone (baresip: \`baresip\`, then \`/dial sip:$PHONE_LISTEN\`), key in 001 then # and
PIN 1234.
TXT
  if [ -t 0 ]; then wait $PHONE_PID; fi
fi
