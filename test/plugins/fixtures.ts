/**
 * Plugin fixtures validated like the Admin API validates them (plugin config defaults
 * filled), plus consumers and credentials for in-process proxy tests.
 */
import {randomUUID} from 'node:crypto'
import {hashPassword} from '../../src/runtime/plugins/basic-auth/credentials.js'
import {findPlugin} from '../../src/runtime/plugins/registry.js'
import {plugins} from '../../src/runtime/schema/entities/plugins.js'
import {validateEntity} from '../../src/runtime/schema/validate.js'
import type {Entity} from '../../src/runtime/schema/registry.js'

const checkJson = (path: string, value: unknown, e: Record<string, any>) => (path === 'config' ? findPlugin(e.name)!.validateConfig(value) : {value})

export function plugin(name: string, config: Record<string, unknown> = {}, scope: {route?: string; service?: string; consumer?: string; enabled?: boolean; protocols?: string[]} = {}) {
  const input: Record<string, unknown> = {name, config}
  if (scope.route) input.route = {id: scope.route}
  if (scope.service) input.service = {id: scope.service}
  if (scope.consumer) input.consumer = {id: scope.consumer}
  if (scope.enabled !== undefined) input.enabled = scope.enabled
  if (scope.protocols) input.protocols = scope.protocols
  const e = validateEntity(plugins, input, {defaults: true, checkJson})
  e.id = randomUUID()
  return e as Entity<'plugins'>
}

export const consumer = (username: string) => ({id: randomUUID(), username, custom_id: null})
export const keyCred = (c: {id: string}, key: string) => ({id: randomUUID(), consumer: {id: c.id}, key})
export const basicCred = (c: {id: string}, username: string, password: string) => ({id: randomUUID(), consumer: {id: c.id}, username, password: hashPassword(password, c.id)})
export const acl = (c: {id: string}, group: string) => ({id: randomUUID(), consumer: {id: c.id}, group})
