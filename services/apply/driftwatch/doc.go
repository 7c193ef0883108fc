// Package driftwatch detects drift in the objects an apply worker manages,
// as it happens: informers watch the managed kinds (filtered to Ferry's
// label), every change or deletion of a tracked object is compared with its
// desired state by a server-side dry-run diff (fluxcd/pkg/ssa Diff, so
// defaulted fields, status and other managers' fields are not drift), and a
// DriftEvent is published. With self-heal on, the drifted objects are
// re-applied, until another writer keeps reverting them: then healing stops
// and the event says the app is fighting. While the operator has
// suspended an app, its drift is reported but not healed. A periodic full
// comparison catches anything a watch missed.
package driftwatch
