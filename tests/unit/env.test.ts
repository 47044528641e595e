import { describe, expect, it } from 'vitest';
import { parseEnv } from '../../src/server/env.ts';

describe('configuration', () => {
  it('has the documented defaults, and treats empty variables as unset', () => {
    const env = parseEnv({ PULSE_ADMIN_PASSWORD: '', PORT: '' });
    expect(env).toMatchObject({
      PORT: 3000,
      HOST: '127.0.0.1',
      DATABASE_URL: 'sqlite:./data/pulse.db',
      PULSE_DEMO: false,
      PULSE_DEMO_FLEET: true,
      PULSE_DEMO_SPEED: 1,
      PULSE_ALLOWED_ORIGINS: [],
      PULSE_MAX_CONNECTIONS_PER_USER: 50,
      PULSE_DRAIN_S: 10,
      PULSE_TRUSTED_PROXIES: [],
    });
    expect(parseEnv({ PULSE_DRAIN_S: '0' }).PULSE_DRAIN_S).toBe(0);
    expect(parseEnv({ PULSE_TRUSTED_PROXIES: '10.0.0.2, ::1' }).PULSE_TRUSTED_PROXIES).toEqual([
      '10.0.0.2',
      '::1',
    ]);
    expect(env.PULSE_ADMIN_PASSWORD).toBeUndefined();
    expect(
      parseEnv({ PULSE_ALLOWED_ORIGINS: 'http://a.example, http://b.example' })
        .PULSE_ALLOWED_ORIGINS,
    ).toEqual(['http://a.example', 'http://b.example']);
  });

  it('names the variable that is wrong', () => {
    expect(() => parseEnv({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => parseEnv({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => parseEnv({ REDIS_URL: 'http://127.0.0.1:6379' })).toThrow(/REDIS_URL/);
    expect(() => parseEnv({ PULSE_MAX_CONNECTIONS_PER_USER: '5' })).toThrow(
      /PULSE_MAX_CONNECTIONS_PER_USER/,
    );
    expect(() => parseEnv({ PULSE_DRAIN_S: '-1' })).toThrow(/PULSE_DRAIN_S/);
    expect(() => parseEnv({ PULSE_DEMO_FLEET: 'yes' })).toThrow(/PULSE_DEMO_FLEET/);
    expect(() => parseEnv({ PULSE_DEMO_SPEED: '0' })).toThrow(/PULSE_DEMO_SPEED/);
    expect(() => parseEnv({ PULSE_DEMO_SPEED: '1001' })).toThrow(/PULSE_DEMO_SPEED/);
    expect(() => parseEnv({ PULSE_TRUSTED_PROXIES: 'proxy.internal' })).toThrow(
      /PULSE_TRUSTED_PROXIES/,
    );
    expect(() => parseEnv({ PULSE_TRUSTED_PROXIES: '10.0.0.0/8' })).toThrow(
      /PULSE_TRUSTED_PROXIES/,
    );
  });

  it('takes a PostgreSQL URL and a pool size', () => {
    const env = parseEnv({
      DATABASE_URL: 'postgres://postgres@127.0.0.1/test',
      PULSE_PG_POOL: '4',
    });
    expect(env.DATABASE_URL).toBe('postgres://postgres@127.0.0.1/test');
    expect(env.PULSE_PG_POOL).toBe(4);
    expect(parseEnv({}).PULSE_PG_POOL).toBe(10);
    expect(() => parseEnv({ PULSE_PG_POOL: '1' })).toThrow(/PULSE_PG_POOL/);
  });
});
