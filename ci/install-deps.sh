#!/usr/bin/env bash
# Installs the Debian packages this project builds and tests with. Idempotent: packages that are
# already installed are skipped, so a second run costs one dpkg query.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  # build
  cmake ninja-build g++ clang-14 libclang-rt-14-dev clang-format
  libboost1.81-dev libssl-dev openssl ca-certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev
  libpcre2-dev pkg-config  # PCRE2: the engine of scenario `~` patterns (bounded time and stack)
  # tests: pytest and the real third-party peers (aiosmtpd, Postfix's smtp-sink, swaks + its TLS)
  python3 python3-pytest python3-pytest-xdist python3-trustme python3-aiosmtpd
  postfix swaks libnet-ssleay-perl libio-socket-ssl-perl
  iperf3  # bench/run.py: loopback TCP, one stream, as the ceiling for the streamed-body rows
  gsasl  # GNU SASL server for the SASL mechanisms' interop tests (client/sasl)
  dovecot-lmtpd  # Dovecot's LMTP server: a real LMTP peer for smtp-probe's tests (probe/tests)
  # other clients under the corpus (issue 18, harness/drivers/external): curl, swaks (above),
  # msmtp; Go's net/smtp (built by the harness into its cache); chromium + python3-websocket open
  # the comparison report in the tests
  curl msmtp golang-go chromium python3-websocket
  # the distributed run's test (harness/tests/test_distributed.py) starts its own sshd on loopback
  openssh-server openssh-client
)
# Node.js + npm for the Nodemailer driver (npm ci by the harness): Debian's, unless a node with
# npm is already there (NodeSource's nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# Postfix asks a debconf question on install; answer it so nothing waits on stdin.
echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
