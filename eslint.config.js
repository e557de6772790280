import neostandard from 'neostandard'
import tseslint from 'typescript-eslint'

export default [
  ...neostandard({ ts: true, ignores: ['node_modules', 'coverage', 'build', 'infra/datadog/out'] }),
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname }
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      // A dropped promise in a server is a silent 500 or an unhandled rejection.
      '@typescript-eslint/no-floating-promises': ['error', {
        // node:test's test()/describe() return promises the runner itself awaits.
        allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite', 'before', 'after'] }]
      }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/await-thenable': 'error',
      // `void promise` is how a deliberately unawaited promise is marked for no-floating-promises.
      'no-void': ['error', { allowAsStatement: true }],
      // Long data literals (test tables, JSON-like documents) read better wrapped by width than one property per line.
      '@stylistic/object-property-newline': 'off'
    }
  }
]
