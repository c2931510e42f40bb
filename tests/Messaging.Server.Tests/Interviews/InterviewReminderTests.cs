using Messaging.Contracts;

using Messaging.Server.Persistence;
namespace Messaging.Server.Tests.Interviews;

/// <summary>Reminders are jobs: due a configured lead before the start, sent once (also across a restart of the embedded
/// mode, where Hangfire's jobs live in memory and are re-derived from the database), moved with the interview.</summary>
public abstract class InterviewReminderTests(StorageProvider storage)
{
    private static readonly Dictionary<string, string?> OneHourBefore = new(StringComparer.Ordinal)
    {
        ["Messaging:Interviews:ReminderLeads:0"] = "01:00:00",
    };

    [Fact]
    public async Task AReminder_FiresOnce_AcrossARestartOfTheServer()
    {
        await using var world = await InterviewWorld.CreateAsync(OneHourBefore, storage: storage);
        var start = world.App.Clock.GetUtcNow().AddHours(3);
        var entry = await world.ProposeAsync(start);
        await world.WaitAsync(() => Invitations(world) == 3, "the invitations in the pickup folder");
        Assert.Contains(world.App.ScheduledJobs(), j => j.Method == "InterviewReminderJob.RunAsync" && j.Argument == entry.InterviewId.ToString());

        // A restart loses Hangfire's in-memory jobs; the reminder is re-derived from interview_reminders.
        await world.RestartAsync();
        Assert.Contains(world.App.ScheduledJobs(), j => j.Method == "InterviewReminderJob.RunAsync" && j.Argument == entry.InterviewId.ToString());
        await world.App.RunDueJobsAsync();
        Assert.Equal(0, Reminders(world)); // not due yet on the fake clock: the job scheduled itself again

        world.App.Clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1));
        await world.App.RunDueJobsAsync();
        Assert.Equal(3, Reminders(world));
        Assert.All(world.PickupMessages().Where(IsReminder), m => Assert.Contains(entry.CaseReference, m.Subject ?? string.Empty, StringComparison.Ordinal));

        await world.App.RunDueJobsAsync();
        await world.RestartAsync();
        await world.App.RunDueJobsAsync();
        Assert.Equal(3, Reminders(world));
        Assert.Equal(1, await world.App.CountAsync("interview_reminders", "sent_at IS NOT NULL"));
    }

    [Fact]
    public async Task AReminder_MovesWithARescheduledInterview_AndIsDroppedWithACancelledOne()
    {
        await using var world = await InterviewWorld.CreateAsync(OneHourBefore, storage: storage);
        var clock = world.App.Clock;
        var entry = await world.ProposeAsync(clock.GetUtcNow().AddHours(3));
        var newStart = clock.GetUtcNow().AddHours(5);
        await world.RescheduleAsync(entry.InterviewId, newStart);

        // The old due time passes: the old job finds its reminder moved and sends nothing.
        clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1));
        await world.App.RunDueJobsAsync();
        Assert.Equal(0, Reminders(world));

        clock.Advance(TimeSpan.FromHours(2));
        await world.App.RunDueJobsAsync();
        Assert.Equal(3, Reminders(world));
        Assert.All(world.PickupMessages().Where(IsReminder), m => Assert.Contains(
            TimeZoneInfo.ConvertTime(newStart, TimeZoneInfo.FindSystemTimeZoneById("Europe/Brussels")).ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture),
            m.Subject ?? string.Empty, StringComparison.Ordinal));

        // A cancelled interview keeps no reminder.
        await world.ReconnectAllAsync();
        var other = await world.ProposeAsync(clock.GetUtcNow().AddHours(3));
        await world.CancelAsync(other.InterviewId);
        Assert.Equal(0, await world.App.CountAsync("interview_reminders", $"interview_id = '{other.InterviewId:D}'"));
        clock.Advance(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1));
        await world.App.RunDueJobsAsync();
        Assert.Equal(3, Reminders(world));
        Assert.Equal(InterviewState.Cancelled, (await world.App.QueryRowsAsync($"SELECT status FROM interviews WHERE id = '{other.InterviewId:D}';"))
            .Select(r => (InterviewState)int.Parse(r[0]!, System.Globalization.CultureInfo.InvariantCulture)).Single());
    }

    private static bool IsReminder(MimeKit.MimeMessage message) => (message.Subject ?? string.Empty).StartsWith("Rappel", StringComparison.Ordinal);

    private static int Reminders(InterviewWorld world) => world.PickupMessages().Count(IsReminder);

    private static int Invitations(InterviewWorld world) => world.PickupMessages().Count(m => !IsReminder(m));

    public sealed class OnSqlite() : InterviewReminderTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : InterviewReminderTests(StorageProvider.Postgres);
}
