// The remote setup of SPEC §4 on loopback: a Eureka server, a logic manager and a translator
// (fixtures speaking the real protocols) serving the logic of config/local-logic.json, both
// registered in Eureka, for running the service with LOGIC_SOURCE=remote.
import path from 'node:path'
import { createFileLogic } from '../src/logic/file-logic.ts'
import { startFakeEureka } from '../test/helpers/fake-eureka.ts'
import { startFakeLogicManager } from '../test/helpers/fake-logic-manager.ts'

const EUREKA_PORT = Number(process.env.STACK_EUREKA_PORT ?? 8761)
const LOGIC_MANAGER_PORT = Number(process.env.STACK_LOGIC_MANAGER_PORT ?? 8091)
const TRANSLATOR_PORT = Number(process.env.STACK_TRANSLATOR_PORT ?? 8092)
const logicFile = path.resolve(import.meta.dirname, '../config/local-logic.json')

const backend = createFileLogic(logicFile)
const eureka = await startFakeEureka({ port: EUREKA_PORT })
const logicManager = await startFakeLogicManager({ backend, port: LOGIC_MANAGER_PORT })
const translator = await startFakeLogicManager({ backend, port: TRANSLATOR_PORT })
eureka.add({ app: 'LOGIC-MANAGER', port: LOGIC_MANAGER_PORT })
eureka.add({ app: 'TRANSLATOR', port: TRANSLATOR_PORT })

const env = {
  LOGIC_SOURCE: 'remote',
  EUREKA_ENABLED: 'true',
  EUREKA_HOST: '127.0.0.1',
  EUREKA_PORT: String(EUREKA_PORT)
}
process.stdout.write([
  `Eureka on ${eureka.url} with LOGIC-MANAGER (${logicManager.url}) and TRANSLATOR (${translator.url})`,
  `serving ${path.relative(process.cwd(), logicFile)}`,
  '',
  'Run the service against it (in another terminal):',
  '',
  `  ${Object.entries(env).map(([name, value]) => `${name}=${value}`).join(' ')} npm start`,
  '',
  `Registry: curl -s -H 'accept: application/json' ${eureka.url}`,
  'Breakers: curl -N http://127.0.0.1:8080/hystrix.stream',
  'Make a fixture misbehave (mode ok|slow|fail|garbage; kind logic|watermark|alias|all):',
  `  curl -X PUT ${logicManager.url}/_fixture/behaviour -d '{"kind":"logic","mode":"slow","delayMs":3000}'`,
  '',
  'Ctrl-C stops the fixtures.',
  ''
].join('\n'))

let stopping = false
async function stop (): Promise<void> {
  if (stopping) process.exit(130)
  stopping = true
  await Promise.all([eureka.close(), logicManager.close(), translator.close()])
  process.exit(0)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })
