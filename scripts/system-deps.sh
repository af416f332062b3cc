#!/usr/bin/env bash
# Debian packages the project needs: LibreOffice (legacy .doc/.wps, and turning fixture .docx into
# PDF), bubblewrap (LibreOffice converts dossier files only inside its sandbox) and the WenQuanYi font
# (Chinese text in generated fixtures and on the web page's screenshots), strace (make robustness traces files and
# connections with it), Chromium (the web page's tests drive Debian's headless browser; nothing is downloaded).
# Installs only what is missing.
set -euo pipefail
need=()
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)
command -v strace >/dev/null 2>&1 || need+=(strace)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "提示：缺少 ${need[*]}，且本机没有 apt-get；.doc/.wps 文件将报告为 UNSUPPORTED_FORMAT。" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "提示：需要 root 权限安装 ${need[*]}；.doc/.wps 文件将报告为 UNSUPPORTED_FORMAT。" >&2
    exit 0
  fi
fi
echo "安装系统软件包：${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
