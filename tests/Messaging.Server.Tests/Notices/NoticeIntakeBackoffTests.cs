using System.ComponentModel.DataAnnotations;
using Messaging.Server.Features.Notices;

namespace Messaging.Server.Tests.Notices;

/// <summary>The intake's retry schedule and the options that bound it.</summary>
public sealed class NoticeIntakeBackoffTests
{
    private static readonly TimeSpan First = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Max = TimeSpan.FromHours(1);

    [Fact]
    public void TheDefaultSchedule_DoublesFromFiveSeconds_SpreadByAQuarterEitherWay()
    {
        var nominal = Enumerable.Range(1, 7).Select(n => NoticeIntakeJob.Backoff(n, First, Max, 0.5).TotalSeconds);
        Assert.Equal([5, 10, 20, 40, 80, 160, 320], nominal);
        Assert.Equal(TimeSpan.FromSeconds(15), NoticeIntakeJob.Backoff(3, First, Max, 0));
        Assert.Equal(TimeSpan.FromSeconds(25), NoticeIntakeJob.Backoff(3, First, Max, 1));
    }

    [Fact]
    public void TheBackoff_NeverExceedsItsMaximum_HoweverManyAttemptsFailed()
    {
        Assert.Equal(Max, NoticeIntakeJob.Backoff(11, First, Max, 0.5));
        Assert.Equal(Max, NoticeIntakeJob.Backoff(50, First, Max, 1));
        Assert.Equal(TimeSpan.FromDays(1), NoticeIntakeJob.Backoff(50, TimeSpan.FromHours(1), TimeSpan.FromDays(1), 0));
    }

    [Theory]
    [InlineData(nameof(NoticesOptions.IntakeFirstBackoff), "00:00:00")]
    [InlineData(nameof(NoticesOptions.IntakeTimeout), "00:05:00")]
    [InlineData(nameof(NoticesOptions.IntakeMaxAttempts), "51")]
    [InlineData(nameof(NoticesOptions.IntakeMaxBackoff), "00:00:02")]
    public void OptionsOutsideTheirBounds_AreRefused(string property, string value)
    {
        Assert.Empty(Validate(new NoticesOptions()));
        var options = new NoticesOptions();
        var info = typeof(NoticesOptions).GetProperty(property)!;
        info.SetValue(options, info.PropertyType == typeof(int)
            ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture)
            : TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture));
        Assert.NotEmpty(Validate(options));
    }

    private static List<ValidationResult> Validate(NoticesOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }
}
