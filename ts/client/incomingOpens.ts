/**
 * The server's channel opens on a client connection, dispatched by channel
 * type: remote port forwarding takes `forwarded-tcpip`, agent forwarding
 * `auth-agent@openssh.com`. A type nobody registered is refused
 * (ADMINISTRATIVELY_PROHIBITED), as it is with no handler at all.
 */
import { type Connection, type IncomingChannelRequest, OPEN_FAILURE } from '../connection/index.js';

type OpenHandler = (req: IncomingChannelRequest) => void;

const byConnection = new WeakMap<Connection, Map<string, OpenHandler>>();

/** Routes the server's opens of channel `type` on `conn` to `handler` (replacing an earlier one for that type). */
export function handleChannelOpens(conn: Connection, type: string, handler: OpenHandler): void {
  let handlers = byConnection.get(conn);
  if (!handlers) {
    const table = new Map<string, OpenHandler>();
    handlers = table;
    byConnection.set(conn, table);
    conn.onChannelOpen((req) => {
      const h = table.get(req.type);
      if (h) h(req);
      else req.reject(OPEN_FAILURE.ADMINISTRATIVELY_PROHIBITED, `${req.type} channels are not accepted`);
    });
  }
  handlers.set(type, handler);
}
