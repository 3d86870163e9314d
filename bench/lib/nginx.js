/**
 * nginx as a process of our own: temp prefix and conf, `daemon off`, one process
 * (`master_process off`, so it is exactly one worker, like a single Node process),
 * stopped by pid. Used as the fast origin (`return 200 'ok'`) and as the reverse-proxy
 * ceiling (upstream keep-alive).
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {startProcess, tempDir, waitForPort} from './proc.js'
import {ensureTool} from './tools.js'

const NGINX = '/usr/sbin/nginx'

function conf(prefix, server) {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
${server}
}
`
}

async function start(name, port, server, cpus) {
  ensureTool('nginx')
  const prefix = tempDir(`kctl-bench-${name}-`)
  mkdirSync(join(prefix, 'tmp'), {recursive: true})
  const file = join(prefix, 'nginx.conf')
  writeFileSync(file, conf(prefix, server))
  const proc = startProcess(name, NGINX, ['-p', prefix, '-c', file, '-e', join(prefix, 'error.log')], {cpus})
  await waitForPort(port, 10_000, proc)
  return proc
}

/** The origin every proxy forwards to: `200 ok`, keep-alive. */
export function startOrigin(port, cpus) {
  return start('origin', port, `  server {
    listen 127.0.0.1:${port} reuseport;
    location / { return 200 'ok'; }
  }`, cpus)
}

/** nginx as reverse proxy to the origin with an upstream keep-alive pool (Kong's base). */
export function startNginxProxy(port, originPort, cpus) {
  return start('nginx-proxy', port, `  upstream origin {
    server 127.0.0.1:${originPort};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`, cpus)
}
