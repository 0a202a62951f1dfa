// List changes inside the fixture: the `test_trigger_*_change` tools announce one, and both
// faces pass it on (legacy sessions as notifications/<kind>/list_changed, 2026-07-28 clients on
// their subscriptions/listen streams), so a gateway in front can be seen relaying it.
import { EventEmitter } from 'node:events'

export type ListKind = 'tools' | 'prompts' | 'resources'

export function fixtureChanges (): EventEmitter<{ change: [ListKind] }> {
  const changes = new EventEmitter<{ change: [ListKind] }>()
  changes.setMaxListeners(0) // one listener per open session or stream
  return changes
}
