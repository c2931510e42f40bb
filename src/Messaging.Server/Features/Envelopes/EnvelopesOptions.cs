using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Envelopes;

/// <summary>Envelope limits and retention (section <c>Messaging:Envelopes</c>).</summary>
public sealed class EnvelopesOptions
{
    public const string Section = "Messaging:Envelopes";

    /// <summary>Largest single ciphertext, version tag included.</summary>
    [Range(64, 16 * 1024 * 1024)]
    public int MaxCiphertextBytes { get; set; } = 64 * 1024;

    /// <summary>Largest sum of an envelope's ciphertexts.</summary>
    [Range(64, 64 * 1024 * 1024)]
    public int MaxEnvelopeBytes { get; set; } = 1024 * 1024;

    /// <summary>Most recipient devices of one envelope.</summary>
    [Range(1, 10_000)]
    public int MaxRecipients { get; set; } = 256;

    /// <summary>How long an undelivered envelope is kept before it is purged.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Most envelopes returned by one fetch and acknowledged by one call.</summary>
    [Range(1, 5000)]
    public int MaxBatch { get; set; } = 500;

    /// <summary>PostgreSQL: how often the envelope tables are vacuumed and analysed (<see cref="EnvelopeTableUpkeep"/>).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan TableUpkeepInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Largest hub frame accepted from a client, derived from the limits above so that an envelope at every limit fits
    /// and one past a limit reaches the size checks (and gets <c>envelope.too-large</c>) instead of closing the
    /// connection: the JSON frame carries the ciphertexts in base64 (4 characters per 3 bytes, rounded up per
    /// recipient), about 128 characters of ids and field names per recipient, and up to <see cref="MaxBatch"/> carried
    /// acknowledgements; the headroom (64 KiB plus one ciphertext and one recipient more) lets a just-too-large envelope
    /// arrive whole.
    /// </summary>
    public long MaxHubFrameBytes
    {
        get
        {
            const long Headroom = 64 * 1024;
            var base64 = ((MaxEnvelopeBytes + MaxCiphertextBytes + 2L) / 3 * 4) + ((MaxRecipients + 1L) * 4);
            return base64 + ((MaxRecipients + 1L) * 128) + (MaxBatch * 21L) + Headroom;
        }
    }
}
