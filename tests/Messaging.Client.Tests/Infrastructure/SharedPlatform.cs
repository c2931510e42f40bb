namespace Messaging.Client.Tests.Infrastructure;

/// <summary>
/// One platform for the tests of a class (a class fixture), for tests that each build their own organisations, members
/// and devices on it and read nothing server-wide (a table's row count, another test's organisations): they stay
/// independent, and the class pays for one start (the bootstrap command, the server process, the operator's enrolment:
/// 4 to 6 s) instead of one per test. Tests that kill or stop the server, change its settings or count its rows start
/// their own <see cref="Platform"/>.
/// </summary>
public sealed class SharedPlatform : IAsyncLifetime
{
    internal Platform Platform { get; private set; } = null!;

    public async Task InitializeAsync() => Platform = await Platform.StartAsync();

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}
