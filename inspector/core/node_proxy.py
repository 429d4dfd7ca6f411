"""The script that makes Node before 24 use the proxy variables.

``inspector env`` and launched terminals point ``NODE_OPTIONS`` at a copy
of ``SCRIPT`` (``--require``): Node's ``http`` and ``https`` modules then
send their requests through the proxy named in ``http_proxy`` and
``https_proxy``, both tunnelled with CONNECT, except hosts in ``no_proxy``.
Node 24 and later do this themselves when ``NODE_USE_ENV_PROXY`` is set,
and the script then changes nothing.
"""

from __future__ import annotations

FILE = "node-proxy.cjs"

SCRIPT = r"""// Loaded with NODE_OPTIONS=--require by the environment `inspector env`
// prints: Node's http and https modules send their requests through the
// proxy named in http_proxy / https_proxy (both tunnelled with CONNECT),
// except hosts listed in no_proxy. Node 24 and later do this themselves
// when NODE_USE_ENV_PROXY is set, so nothing is changed there. fetch()
// before Node 24 is not covered (it does not use these modules).
'use strict';

const http = require('http');
const https = require('https');
const net = require('net');
const tls = require('tls');

const major = Number(process.versions.node.split('.')[0]);
// CONNECT requests go out through an agent of Node's own, made before the
// global agents are replaced (agent: false would make one of ours).
const direct = new http.Agent({ keepAlive: false });

function proxyFrom(names) {
  for (const name of names) {
    const value = process.env[name];
    if (value) {
      try {
        const url = new URL(value);
        if (url.protocol === 'http:') return url;
      } catch (error) {
        // an unusable value: as if unset
      }
    }
  }
  return null;
}

function bypassed(host) {
  const list = (process.env.no_proxy || process.env.NO_PROXY || '')
    .split(',')
    .map((entry) => entry.trim().toLowerCase())
    .filter(Boolean);
  const name = String(host || '').toLowerCase().replace(/^\[|\]$/g, '');
  return list.some((entry) => {
    if (entry === '*') return true;
    const bare = entry.replace(/^\./, '');
    return name === bare || name.endsWith('.' + bare);
  });
}

function tunnel(proxy, options, callback, secure) {
  const authority = `${options.host}:${options.port}`;
  const headers = { host: authority };
  if (proxy.username) {
    const user = decodeURIComponent(proxy.username);
    const credentials = `${user}:${decodeURIComponent(proxy.password)}`;
    headers['proxy-authorization'] = 'Basic ' + Buffer.from(credentials).toString('base64');
  }
  const request = http.request({
    host: proxy.hostname.replace(/^\[|\]$/g, ''),
    port: Number(proxy.port) || 80,
    method: 'CONNECT',
    path: authority,
    headers,
    agent: direct,
  });
  request.once('connect', (response, socket) => {
    if (response.statusCode !== 200) {
      socket.destroy();
      const status = response.statusCode;
      callback(new Error(`proxy ${proxy.host} refused CONNECT to ${authority}: ${status}`));
      return;
    }
    if (!secure) {
      callback(null, socket);
      return;
    }
    const servername = options.servername || (net.isIP(options.host) ? undefined : options.host);
    callback(null, tls.connect({ ...options, socket, servername }));
  });
  request.once('error', callback);
  request.end();
}

if (!(major >= 24 && process.env.NODE_USE_ENV_PROXY)) {
  const httpProxy = proxyFrom(['http_proxy', 'HTTP_PROXY']);
  const httpsProxy = proxyFrom(['https_proxy', 'HTTPS_PROXY']);

  if (httpProxy) {
    class ProxiedHttpAgent extends http.Agent {
      createConnection(options, callback) {
        if (bypassed(options.host)) return net.createConnection(options, callback);
        tunnel(httpProxy, options, callback, false);
        return undefined;
      }
    }
    http.globalAgent = new ProxiedHttpAgent({ keepAlive: true });
  }
  if (httpsProxy) {
    class ProxiedHttpsAgent extends https.Agent {
      createConnection(options, callback) {
        if (bypassed(options.host)) return tls.connect(options, callback);
        tunnel(httpsProxy, options, callback, true);
        return undefined;
      }
    }
    https.globalAgent = new ProxiedHttpsAgent({ keepAlive: true });
  }
}
"""
