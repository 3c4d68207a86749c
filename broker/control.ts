/**
 * What the iotcloud server needs from its node that AMQP cannot do, through `rabbitmqctl eval`
 * (the node's cookie in the state folder authorises it; no management plugin, no HTTP API):
 * close one device's connections, evict its cached auth answers, list who is connected, list
 * queues and bindings.
 *
 * RabbitMQ 3.10 has no CLI command for the first two that covers MQTT: `close_all_user_connections`
 * only closes AMQP network connections, and 3.10 has no command to evict auth cache entries.
 * So the expressions below use the node's own modules: connection tracking, the MQTT client-id
 * registry and the ETS cache of rabbitmq_auth_backend_cache. One eval costs about 0.6-1.5 s (the
 * CLI boots an Erlang VM), which is fine for unregistering a device.
 */
import { ctl, type NodeAddress } from './ctl.ts';

export interface ConnectionRecord {
  name: string;
  user: string;
}

export interface QueueRecord {
  name: string;
  durable: boolean;
  autoDelete: boolean;
}

export interface BindingRecord {
  source: string;
  destination: string;
  routingKey: string;
}

/** Matches server/bus/rabbitmq.ts `BrokerControl` (structural: the CLI wires one into the other). */
export interface RabbitmqctlControl {
  disconnectUser(username: string): Promise<void>;
  listConnections(): Promise<ConnectionRecord[]>;
  listQueues(): Promise<QueueRecord[]>;
  listBindings(): Promise<BindingRecord[]>;
}

/** Usernames go into Erlang source: allow only what a device id or the service user can be. */
const safeName = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$/;

export function rabbitmqctlControl(node: NodeAddress): RabbitmqctlControl {
  return {
    async disconnectUser(username: string): Promise<void> {
      if (!safeName.test(username)) throw new Error(`refusing to disconnect ${JSON.stringify(username)}: not a device id`);
      await ctl(node, ['-q', 'eval', disconnectExpression(username)], { timeoutMs: 20_000 });
    },

    async listConnections(): Promise<ConnectionRecord[]> {
      const output = await ctl(node, ['-q', 'eval', listExpression], { timeoutMs: 20_000 });
      const line = output.split('\n').find((text) => text.startsWith('['));
      if (line === undefined) throw new Error(`unexpected rabbitmqctl output: ${output.slice(0, 200)}`);
      return (JSON.parse(line) as ConnectionRecord[]).filter((c) => typeof c.name === 'string' && typeof c.user === 'string');
    },

    async listQueues(): Promise<QueueRecord[]> {
      const rows = await listJson(node, ['list_queues', 'name', 'durable', 'auto_delete']);
      return rows.flatMap((row) => (typeof row.name === 'string' ? [{ name: row.name, durable: row.durable === true, autoDelete: row.auto_delete === true }] : []));
    },

    async listBindings(): Promise<BindingRecord[]> {
      const rows = await listJson(node, ['list_bindings', 'source_name', 'destination_name', 'routing_key']);
      return rows.flatMap((row) =>
        typeof row.source_name === 'string' && typeof row.destination_name === 'string' && typeof row.routing_key === 'string'
          ? [{ source: row.source_name, destination: row.destination_name, routingKey: row.routing_key }]
          : [],
      );
    },
  };
}

/** A `rabbitmqctl list_*` table as JSON rows (one VM boot: about a second). */
async function listJson(node: NodeAddress, args: string[]): Promise<Record<string, unknown>[]> {
  const output = await ctl(node, ['-q', ...args, '--formatter', 'json'], { timeoutMs: 60_000 });
  const start = output.indexOf('[');
  if (start < 0) throw new Error(`unexpected rabbitmqctl ${args[0]} output: ${output.slice(0, 200)}`);
  const rows: unknown = JSON.parse(output.slice(start));
  if (!Array.isArray(rows)) throw new Error(`rabbitmqctl ${args[0]} did not print a list`);
  return rows.filter((row): row is Record<string, unknown> => typeof row === 'object' && row !== null);
}

/**
 * First evict the cache (so a reconnection is asked of the server, which now says deny), then
 * close: AMQP connections through rabbit_networking, MQTT ones through their reader, found by
 * client id (the broker-auth endpoints make client id = username).
 */
export function disconnectExpression(username: string): string {
  return `
U = <<"${username}">>, Why = "device unregistered",
Mine = fun({_F, [A | _]}) -> A =:= U orelse (is_tuple(A) andalso element(1, A) =:= auth_user andalso element(2, A) =:= U); (_) -> false end,
Evict = fun(S) ->
  T = element(2, S), Ts = element(3, S),
  [begin ets:delete(T, K), case ets:lookup(Ts, K) of [{K, R}] -> timer:cancel(R), ets:delete(Ts, K); [] -> ok end end
   || {K, _} <- ets:tab2list(T), Mine(K)],
  S end,
_ = (catch sys:replace_state(rabbit_auth_cache_ets, Evict)),
Net = rabbit_networking:connections(),
_ = [rabbit_networking:close_connection(element(6, C), Why) || C <- rabbit_connection_tracking:list_of_user(U), lists:member(element(6, C), Net)],
_ = [rabbit_mqtt_reader:close_connection(P, Why) || {Cid, P} <- rabbit_mqtt_collector:list(), unicode:characters_to_binary(Cid) =:= U],
ok.`;
}

/** Tracked connections (AMQP and MQTT alike) as one JSON line. */
const listExpression = `
io:format("~s~n", [rabbit_json:encode([#{name => element(5, C), user => element(11, C)} || C <- rabbit_connection_tracking:list()])]),
ok.`;
