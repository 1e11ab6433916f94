#!/usr/bin/env bash
# The project's copy of the CI machines' Redmine script (../shared/ci/redmine.sh), so a clone can
# start the real Redmine its end-to-end test drives. Keep the two the same.
# Install (if needed) and start Debian 12's Redmine 5.0 on 127.0.0.1 with SQLite,
# REST API enabled and a fixed admin API key. Usage:
#   redmine-ci.sh start | stop | reset
set -euo pipefail
# Rails reads DATABASE_URL before database.yml: a caller's own database must not leak into Redmine.
unset DATABASE_URL
PORT="${REDMINE_PORT:-3000}"
KEY="${REDMINE_CI_API_KEY:-0123456789abcdef0123456789abcdef01234567}"   # 40 hex chars
STATE="${REDMINE_CI_STATE:-/tmp/redmine-ci}"
DB=/var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default
RUN_AS=(setpriv --reuid=www-data --regid=www-data --init-groups
        env REDMINE_INSTANCE=default RAILS_ENV=production)

install_redmine() {
  if ! dpkg -s redmine redmine-sqlite >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      redmine redmine-sqlite curl >/dev/null
  fi
}

configure_once() {
  [ -f "$STATE/golden.sqlite3" ] && return 0
  mkdir -p "$STATE"; chown www-data:www-data "$STATE"
  cat > "$STATE/setup.rb" <<'RUBY'
Setting.rest_api_enabled = '1'
Setting.login_required   = '1'
u = User.find_by_login!('admin')
u.update_columns(must_change_passwd: false)
Token.where(user_id: u.id, action: 'api').delete_all
t = Token.create!(user: u, action: 'api')   # before_create assigns a random value,
t.update_column(:value, ENV.fetch('KEY'))  # so overwrite it afterwards
RUBY
  chmod 644 "$STATE/setup.rb"
  (cd /usr/share/redmine && "${RUN_AS[@]}" KEY="$KEY" bin/rails runner "$STATE/setup.rb")
  cp -p "$DB" "$STATE/golden.sqlite3"
}

start() {
  install_redmine
  configure_once
  if curl -s -o /dev/null "http://127.0.0.1:$PORT/"; then
    echo "port $PORT already in use" >&2; exit 1
  fi
  # Background the server itself (not a `cd && ...` list), so $! is its PID.
  cd /usr/share/redmine
  # RUBYOPT=-rwebrick: the Gemfile has no web server, and Bundler hides ruby-webrick otherwise.
  "${RUN_AS[@]}" RUBYOPT=-rwebrick rackup -E production -o 127.0.0.1 -p "$PORT" \
    > "$STATE/server.log" 2>&1 &
  echo $! > "$STATE/server.pid"
  for _ in $(seq 1 240); do
    kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null || { cat "$STATE/server.log" >&2; exit 1; }
    curl -sf -o /dev/null -H "X-Redmine-API-Key: $KEY" "http://127.0.0.1:$PORT/users/current.json" && return 0
    sleep 0.25
  done
  echo "redmine did not start" >&2; exit 1
}

stop() {
  [ -f "$STATE/server.pid" ] || return 0
  pid="$(cat "$STATE/server.pid")"
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  rm -f "$STATE/server.pid"
}

reset() {   # back to the freshly configured database (server must be stopped)
  cp -p "$STATE/golden.sqlite3" "$DB"
}

"$@"
