namespace Messaging.Scheduling.Delivery;

/// <summary>
/// Remembers which delivery ids reached the mail server, so that a retried job (after a crash, a lost acknowledgement, a
/// restart) never sends the same message twice. Checked before every send; written the moment the server accepts the
/// end of DATA. The server's store can implement it in its database; <see cref="FileDeliveryLedger"/> is the embedded
/// default.
/// </summary>
public interface IDeliveryLedger
{
    /// <summary>True when <paramref name="deliveryId"/> was accepted by the mail server (or written to the pickup folder).</summary>
    bool WasSent(string deliveryId);

    /// <summary>Records that an attempt is about to hand the message over; returns true if an earlier attempt got this far
    /// without recording its outcome (its fate is unknown).</summary>
    bool BeginAttempt(string deliveryId);

    /// <summary>Records that the mail server accepted the message.</summary>
    void RecordSent(string deliveryId);
}

/// <summary>A ledger of one empty file per delivery id in a directory: durable across restarts, safe across threads
/// and processes (files are created with <see cref="FileMode.CreateNew"/>).</summary>
public sealed class FileDeliveryLedger : IDeliveryLedger
{
    private readonly string _directory;

    public FileDeliveryLedger(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        _directory = directory;
        Directory.CreateDirectory(directory);
    }

    public bool WasSent(string deliveryId) => File.Exists(PathOf(deliveryId, "sent"));

    public bool BeginAttempt(string deliveryId)
    {
        var marker = PathOf(deliveryId, "attempt");
        var earlier = File.Exists(marker);
        File.WriteAllBytes(marker, []);
        return earlier;
    }

    public void RecordSent(string deliveryId)
    {
        try
        {
            using (new FileStream(PathOf(deliveryId, "sent"), FileMode.CreateNew, FileAccess.Write))
            {
            }
        }
        catch (IOException) when (WasSent(deliveryId))
        {
            // Recorded by a concurrent attempt: the same fact.
        }

        File.Delete(PathOf(deliveryId, "attempt"));
    }

    private string PathOf(string deliveryId, string kind)
    {
        DeliveryIds.Check(deliveryId);
        return Path.Combine(_directory, $"{deliveryId}.{kind}");
    }
}

internal static class DeliveryIds
{
    /// <summary>Delivery ids are lower-case hex (they name files and Message-IDs).</summary>
    public static void Check(string deliveryId)
    {
        if (string.IsNullOrEmpty(deliveryId) || deliveryId.Length > 64 || !deliveryId.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')))
        {
            throw new ArgumentException("A delivery id is 1–64 lower-case hex characters.", nameof(deliveryId));
        }
    }
}
