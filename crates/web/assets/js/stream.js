// Follows a session's events over SSE, resuming from the last seen `seq`
// after any drop (network, server restart) with backoff, and reporting the
// connection state for the header. Events at or below the last seen seq are
// dropped, so nothing is shown twice.

const TYPES = [
  'session.status', 'turn.started', 'turn.completed', 'input.queued', 'message.started',
  'message.completed', 'text.delta', 'thinking.delta', 'tool.started', 'tool.output',
  'tool.completed', 'file.changed', 'usage', 'permission.requested', 'permission.resolved',
  'task.result', 'budget.exceeded', 'checkpoint.created', 'checkpoint.restored', 'error',
];

export function setConnState(state, text) {
  const el = document.getElementById('conn');
  if (!el) return;
  el.dataset.state = state;
  el.textContent = text ?? {
    idle: '', connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline',
  }[state];
}

export function follow(sessionId, after, onEvent) {
  let lastSeq = after;
  let source = null;
  let retry = 0;
  let timer = null;
  let stopped = false;

  const connect = () => {
    if (stopped) return;
    setConnState(retry ? 'reconnecting' : 'connecting');
    source = new EventSource(`/api/v1/sessions/${sessionId}/events?after=${lastSeq}`);
    source.onopen = () => { retry = 0; setConnState('live'); };
    const handle = (msg) => {
      let env;
      try { env = JSON.parse(msg.data); } catch { return; }
      if (typeof env.seq !== 'number' || env.seq <= lastSeq) return;
      lastSeq = env.seq;
      onEvent(env);
    };
    TYPES.forEach((t) => source.addEventListener(t, handle));
    // A subscriber that fell behind is told so; resume from the log.
    source.addEventListener('lagged', () => reconnect());
    source.onerror = () => reconnect();
  };

  const reconnect = () => {
    if (source) { source.close(); source = null; }
    if (stopped || timer) return;
    setConnState(navigator.onLine ? 'reconnecting' : 'offline');
    const delay = Math.min(10000, 500 * 2 ** retry);
    retry += 1;
    timer = setTimeout(() => { timer = null; connect(); }, delay);
  };

  const online = () => { if (!source) { clearTimeout(timer); timer = null; connect(); } };
  const offline = () => { if (source) { source.close(); source = null; } setConnState('offline'); };
  window.addEventListener('online', online);
  window.addEventListener('offline', offline);
  connect();
  return {
    get lastSeq() { return lastSeq; },
    stop() {
      stopped = true;
      clearTimeout(timer);
      if (source) source.close();
      window.removeEventListener('online', online);
      window.removeEventListener('offline', offline);
      setConnState('idle');
    },
  };
}
