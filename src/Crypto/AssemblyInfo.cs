using System.Runtime.CompilerServices;

// Stack buffers here hold keys and are always fully written before use and zeroed after; skipping the
// runtime's pre-zeroing keeps the ratchet's hot path lean.
[module: SkipLocalsInit]
[assembly: CLSCompliant(false)]
