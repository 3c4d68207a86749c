/**
 * What the iotcloud server needs from its node that AMQP cannot do, through `rabbitmqctl eval`
 * (the node's cookie in the state folder authorises it; no management plugin, no HTTP API):
 * close one device's connections, evict its cached auth answers, list who is connected.
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

/** Matches server/bus/rabbitmq.ts `BrokerControl` (structural: the CLI wires one into the other). */
export interface RabbitmqctlControl {
  disconnectUser(username: string): Promise<void>;
  listConnections(): Promise<ConnectionRecord[]>;
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
  };
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
