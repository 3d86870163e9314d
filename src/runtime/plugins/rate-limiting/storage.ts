/** rate-limiting's table: the `cluster` policy's counters, as Kong keeps them. */
import type {PluginStorage} from '../../pdk/index.js'

export const storage: PluginStorage = {
  migrations: [
    {
      // Kong's 000_base_rate_limiting, with the ttl column and index of its 004_200_to_210.
      name: 'rate-limiting/000_base',
      compatible: true,
      up: () => [
        `CREATE TABLE IF NOT EXISTS ratelimiting_metrics (
          identifier text NOT NULL,
          period text NOT NULL,
          period_date timestamp with time zone NOT NULL,
          service_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid,
          route_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000'::uuid,
          value integer,
          ttl timestamp with time zone,
          PRIMARY KEY (identifier, period, period_date, service_id, route_id)
        )`,
        'CREATE INDEX IF NOT EXISTS ratelimiting_metrics_ttl_idx ON ratelimiting_metrics (ttl)',
      ],
    },
  ],
}
