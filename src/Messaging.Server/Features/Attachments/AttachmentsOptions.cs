using System.ComponentModel.DataAnnotations;
using Messaging.Server.Features.Envelopes;

namespace Messaging.Server.Features.Attachments;

/// <summary>Attachment limits (section <c>Messaging:Attachments</c>). Blobs expire after
/// <see cref="EnvelopesOptions.Retention"/>, like the envelopes that reference them.</summary>
public sealed class AttachmentsOptions
{
    public const string Section = "Messaging:Attachments";

    /// <summary>Largest blob accepted, in bytes (25 MiB).</summary>
    [Range(1, 1024L * 1024 * 1024)]
    public long MaxBytes { get; set; } = 25L * 1024 * 1024;

    /// <summary>Most bytes of unexpired blobs one device may have stored at once.</summary>
    [Range(1, 64L * 1024 * 1024 * 1024)]
    public long MaxStoredBytesPerDevice { get; set; } = 250L * 1024 * 1024;

    /// <summary>The folder of the blob files; empty means <c>attachments</c> inside the storage data folder.</summary>
    public string Directory { get; set; } = string.Empty;

    /// <summary>How long a blob file that no row names must have gone unwritten before the expiry sweep deletes it
    /// (files a crash left behind; an upload in progress writes its file until just before its row is inserted).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan OrphanGrace { get; set; } = TimeSpan.FromDays(1);
}
