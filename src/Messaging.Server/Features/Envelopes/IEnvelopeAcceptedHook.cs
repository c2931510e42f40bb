using Messaging.Contracts;
using Messaging.Server.Persistence;

namespace Messaging.Server.Features.Envelopes;

/// <summary>
/// Work a feature does when an envelope of its kind is accepted: it runs inside the send's write transaction, after the
/// envelope rows are written (so its rows commit exactly when the envelope does), and may return work to run after the
/// commit (scheduling a job, for example). It runs for first acceptances only, never for a repeated send or a
/// mismatch. Register one with <see cref="EnvelopesFeature.AddEnvelopeAcceptedHook{THook}"/>.
/// </summary>
internal interface IEnvelopeAcceptedHook
{
    /// <summary>Whether the hook has anything to do for <paramref name="kind"/>; pure (the service reads it once per kind
    /// when it starts).</summary>
    bool Applies(EnvelopeKind kind);

    /// <summary>Writes the feature's rows; returns the work to run after the commit, or null.</summary>
    Task<Func<Task>?> OnAcceptedAsync(DbSession session, EnvelopeGateContext context, long sequence);
}
