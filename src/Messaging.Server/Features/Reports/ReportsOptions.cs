using System.ComponentModel.DataAnnotations;

namespace Messaging.Server.Features.Reports;

/// <summary>Statistical disclosure control of the committee report (section <c>Messaging:Reports</c>).</summary>
public sealed class ReportsOptions
{
    public const string Section = "Messaging:Reports";

    /// <summary>The smallest count published: counts from 1 to this value − 1 are suppressed; 0 and counts of at least
    /// this value are published.</summary>
    [Range(2, 1000)]
    public int MinimumCellCount { get; set; } = 5;
}
