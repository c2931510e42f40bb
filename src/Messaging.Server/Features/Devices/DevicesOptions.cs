using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Devices;

/// <summary>Prekey limits (section <c>Messaging:Devices</c>).</summary>
public sealed class DevicesOptions
{
    public const string Section = "Messaging:Devices";

    /// <summary>Most one-time prekeys accepted in one enrolment or upload.</summary>
    [Range(1, 1000)]
    public int MaxOneTimePreKeysPerUpload { get; set; } = 200;

    /// <summary>Most one-time prekeys a device may have stored.</summary>
    [Range(1, 10_000)]
    public int MaxOneTimePreKeysStored { get; set; } = 500;

    /// <summary>Below this many remaining one-time prekeys the device is told to upload more.</summary>
    [Range(0, 1000)]
    public int PreKeysLowThreshold { get; set; } = 10;
}
