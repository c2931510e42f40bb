namespace Messaging.Scheduling.Delivery;

/// <summary>
/// Remembers which delivery ids reached the mail server, so that a retried job (after a crash, a lost acknowledgement, a
/// restart) never sends the same message twice — also when several instances of the server run the same job at once.
/// Before a message is handed over, its delivery id is <em>claimed</em>: atomically, so that of two attempts claiming one
/// id at the same time exactly one gets it; the other is told the message is already sent or being sent. The claim ends
/// with <see cref="RecordSentAsync"/> (the server accepted the end of DATA) or <see cref="ReleaseAsync"/> (it did not take
/// the message, or the outcome is unknown). A claim whose holder vanished (a crash mid-send) lapses after
/// <see cref="DeliveryClaim.Lease"/>. The server implements it in its database (several instances); <see cref="FileDeliveryLedger"/>
/// serves one machine.
/// </summary>
public interface IDeliveryLedger
{
    /// <summary>Claims <paramref name="deliveryId"/> for one attempt to hand the message over.</summary>
    /// <exception cref="ArgumentException">The id is not 1–64 lower-case hex characters.</exception>
    Task<DeliveryClaim> ClaimAsync(string deliveryId, CancellationToken cancellationToken);

    /// <summary>Records that the mail server accepted the message (whoever holds the claim now: it is a fact).</summary>
    Task RecordSentAsync(DeliveryClaim claim, CancellationToken cancellationToken);

    /// <summary>Gives a claim back: the message was not taken (<paramref name="outcomeUnknown"/> false), or it was
    /// handed over and no answer came (true: the next claim is told so, and sends again with the same Message-ID).
    /// Does nothing when the claim lapsed and another attempt took it over.</summary>
    Task ReleaseAsync(DeliveryClaim claim, bool outcomeUnknown, CancellationToken cancellationToken);
}

/// <summary>What a claim found.</summary>
public enum DeliveryClaimStatus
{
    /// <summary>This attempt holds the claim: it may hand the message over.</summary>
    Claimed = 1,

    /// <summary>The mail server already accepted this delivery id: nothing to send.</summary>
    AlreadySent = 2,

    /// <summary>Another attempt holds the claim and is handing the message over now: try again later.</summary>
    HeldElsewhere = 3,
}

/// <summary>The result of <see cref="IDeliveryLedger.ClaimAsync"/>.</summary>
/// <param name="DeliveryId">The delivery id claimed.</param>
/// <param name="Status">What the claim found.</param>
/// <param name="Holder">This attempt's token (claimed only): a release by an attempt whose claim lapsed changes nothing.</param>
/// <param name="EarlierOutcomeUnknown">An earlier attempt handed the message over without learning the outcome (claimed
/// only).</param>
public sealed record DeliveryClaim(string DeliveryId, DeliveryClaimStatus Status, Guid Holder, bool EarlierOutcomeUnknown)
{
    /// <summary>How long a claim holds without an outcome before another attempt may take it over (its holder is taken
    /// to have crashed; the outcome of its hand-over is then unknown). Longer than any one SMTP transaction.</summary>
    public static TimeSpan Lease { get; } = TimeSpan.FromMinutes(5);
}

/// <summary>A ledger of files per delivery id in a directory of one machine: durable across restarts, safe across threads
/// and processes of that machine (a claim is a file created with <see cref="FileMode.CreateNew"/>). Several machines need
/// a shared ledger (the server's database ledger).</summary>
public sealed class FileDeliveryLedger : IDeliveryLedger
{
    private readonly string _directory;
    private readonly TimeProvider _time;

    public FileDeliveryLedger(string directory, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = directory;
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(directory);
    }

    public Task<DeliveryClaim> ClaimAsync(string deliveryId, CancellationToken cancellationToken)
    {
        var claim = PathOf(deliveryId, "claim");
        for (var attempt = 0; ; attempt++)
        {
            if (File.Exists(PathOf(deliveryId, "sent")))
            {
                return Task.FromResult(new DeliveryClaim(deliveryId, DeliveryClaimStatus.AlreadySent, Guid.Empty, false));
            }

            var holder = Guid.NewGuid();
            try
            {
                using (var stream = new FileStream(claim, FileMode.CreateNew, FileAccess.Write))
                {
                    stream.Write(holder.ToByteArray());
                }

                // Checked again: a send recorded between the first check and the claim.
                if (File.Exists(PathOf(deliveryId, "sent")))
                {
                    File.Delete(claim);
                    return Task.FromResult(new DeliveryClaim(deliveryId, DeliveryClaimStatus.AlreadySent, Guid.Empty, false));
                }

                return Task.FromResult(new DeliveryClaim(deliveryId, DeliveryClaimStatus.Claimed, holder, File.Exists(PathOf(deliveryId, "attempt"))));
            }
            catch (IOException) when (File.Exists(claim) && attempt == 0)
            {
                if (_time.GetUtcNow() - File.GetLastWriteTimeUtc(claim) < DeliveryClaim.Lease)
                {
                    return Task.FromResult(new DeliveryClaim(deliveryId, DeliveryClaimStatus.HeldElsewhere, Guid.Empty, false));
                }

                // Its holder vanished mid-send: the outcome of its hand-over is unknown.
                File.WriteAllBytes(PathOf(deliveryId, "attempt"), []);
                File.Delete(claim);
            }
            catch (IOException) when (File.Exists(claim))
            {
                return Task.FromResult(new DeliveryClaim(deliveryId, DeliveryClaimStatus.HeldElsewhere, Guid.Empty, false));
            }
        }
    }

    public Task RecordSentAsync(DeliveryClaim claim, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        try
        {
            using (new FileStream(PathOf(claim.DeliveryId, "sent"), FileMode.CreateNew, FileAccess.Write))
            {
            }
        }
        catch (IOException) when (File.Exists(PathOf(claim.DeliveryId, "sent")))
        {
            // Recorded by a concurrent attempt: the same fact.
        }

        File.Delete(PathOf(claim.DeliveryId, "attempt"));
        DeleteIfHeldBy(claim);
        return Task.CompletedTask;
    }

    public Task ReleaseAsync(DeliveryClaim claim, bool outcomeUnknown, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(claim);
        if (outcomeUnknown)
        {
            File.WriteAllBytes(PathOf(claim.DeliveryId, "attempt"), []);
        }

        DeleteIfHeldBy(claim);
        return Task.CompletedTask;
    }

    private void DeleteIfHeldBy(DeliveryClaim claim)
    {
        var path = PathOf(claim.DeliveryId, "claim");
        try
        {
            if (File.Exists(path) && new Guid(File.ReadAllBytes(path)) == claim.Holder)
            {
                File.Delete(path);
            }
        }
        catch (Exception ex) when (ex is IOException or ArgumentException)
        {
            // Gone or being rewritten by the attempt that took the lapsed claim over: not ours any more.
        }
    }

    private string PathOf(string deliveryId, string kind)
    {
        DeliveryIds.Check(deliveryId);
        return Path.Combine(_directory, $"{deliveryId}.{kind}");
    }
}

/// <summary>Delivery ids are lower-case hex (they name files and Message-IDs).</summary>
public static class DeliveryIds
{
    /// <exception cref="ArgumentException">The id is not 1–64 lower-case hex characters.</exception>
    public static void Check(string deliveryId)
    {
        if (string.IsNullOrEmpty(deliveryId) || deliveryId.Length > 64 || !deliveryId.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')))
        {
            throw new ArgumentException("A delivery id is 1–64 lower-case hex characters.", nameof(deliveryId));
        }
    }
}
