import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {describe, test} from 'node:test'
import {PkiError, writeKeyPair} from '../../src/pki/index.js'
import {tempDir} from './helpers.js'

const mode = async (path: string) => (await stat(path)).mode & 0o777

describe('pki: writeKeyPair', () => {
  test('writes the certificate 0644 and the key 0600, whatever the umask', async (t) => {
    const dir = await tempDir(t)
    const old = process.umask(0o077)
    t.after(() => process.umask(old))
    await writeKeyPair({cert: 'CERT', key: 'KEY', certPath: join(dir, 'sub', 'c.crt'), keyPath: join(dir, 'sub', 'c.key')})
    assert.equal(await mode(join(dir, 'sub', 'c.crt')), 0o644)
    assert.equal(await mode(join(dir, 'sub', 'c.key')), 0o600)
    assert.equal(await readFile(join(dir, 'sub', 'c.key'), 'utf8'), 'KEY')
    assert.deepEqual((await readdir(join(dir, 'sub'))).sort(), ['c.crt', 'c.key'], 'no temp files left')
  })

  test('refuses to overwrite either file, naming it, and writes nothing', async (t) => {
    const dir = await tempDir(t)
    const certPath = join(dir, 'c.crt')
    const keyPath = join(dir, 'c.key')
    await writeFile(keyPath, 'OLD')
    await assert.rejects(writeKeyPair({cert: 'CERT', key: 'KEY', certPath, keyPath}), (e: unknown) => {
      assert.ok(e instanceof PkiError)
      assert.equal(e.code, 'FILE_EXISTS')
      assert.equal(e.path, keyPath)
      assert.match(e.message, /c\.key already exists.*--force/)
      return true
    })
    assert.equal(existsSync(certPath), false, 'the certificate was not written either')
    assert.equal(await readFile(keyPath, 'utf8'), 'OLD')
  })

  test('force replaces both files and sets the modes again', async (t) => {
    const dir = await tempDir(t)
    const certPath = join(dir, 'c.crt')
    const keyPath = join(dir, 'c.key')
    await writeFile(certPath, 'OLD', {mode: 0o666})
    await writeFile(keyPath, 'OLD', {mode: 0o644})
    await writeKeyPair({cert: 'CERT', key: 'KEY', certPath, keyPath, force: true})
    assert.equal(await readFile(certPath, 'utf8'), 'CERT')
    assert.equal(await readFile(keyPath, 'utf8'), 'KEY')
    assert.equal(await mode(certPath), 0o644)
    assert.equal(await mode(keyPath), 0o600)
  })
})
