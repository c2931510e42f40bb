using Messaging.Scheduling.Interviews;

namespace Messaging.Scheduling.Tests.Interviews;

public sealed class InterviewDurationTests
{
    [Theory]
    [InlineData(14, false)]
    [InlineData(15, true)]
    [InlineData(240, true)]
    [InlineData(241, false)]
    [InlineData(0, false)]
    [InlineData(-60, false)]
    public void AllowsMinutes_TakesFifteenMinutesToFourHours_AndNothingOutside(int minutes, bool allowed)
        => Assert.Equal(allowed, Interview.AllowsMinutes(minutes));

    [Fact]
    public void TheBounds_AreTheShortestAndLongestInterview()
        => Assert.Equal((15.0, 240.0), (Interview.Shortest.TotalMinutes, Interview.Longest.TotalMinutes));
}
