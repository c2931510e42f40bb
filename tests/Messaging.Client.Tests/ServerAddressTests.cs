using Messaging.Crypto.KeyStore;

namespace Messaging.Client.Tests;

/// <summary>Outside review 2026-11-29, app F8: the SDK never sends an enrolment code or a token in clear over a network.
/// https anywhere; plain http only to this machine's loopback interface (a local server, the test suites).</summary>
public sealed class ServerAddressTests
{
    [Theory]
    [InlineData("https://messaging.example.be/")]
    [InlineData("https://10.0.0.5:8443/")]
    [InlineData("https://127.0.0.1:5001/")]
    [InlineData("http://127.0.0.1:5000/")]
    [InlineData("http://127.0.0.2:5000/")]
    [InlineData("http://[::1]:5000/")]
    [InlineData("http://localhost:5000/")]
    [InlineData("http://LOCALHOST/")]
    public void AnHttpsAddress_OrPlainHttpToLoopback_IsAccepted(string address)
    {
        var server = new Uri(address);
        Assert.True(ServerAddress.IsSecure(server));
        ServerAddress.EnsureSecure(server);
        using var api = new ServerApi(server);
    }

    [Theory]
    [InlineData("http://example.be/")]
    [InlineData("http://messaging.example.be:8080/")]
    [InlineData("http://10.0.0.5/")]
    [InlineData("http://[2001:db8::1]/")]
    [InlineData("http://localhost.example.be/")]
    [InlineData("ftp://messaging.example.be/")]
    [InlineData("ws://127.0.0.1/")]
    public void PlainHttpToAnotherMachine_OrAnotherScheme_IsRefused_WithATypedError(string address)
    {
        var server = new Uri(address);
        Assert.False(ServerAddress.IsSecure(server));
        var refused = Assert.Throws<InsecureServerAddressException>(() => ServerAddress.EnsureSecure(server));
        Assert.Equal(server, refused.Server);
        Assert.Contains("use https", refused.Message, StringComparison.Ordinal);
        // The SDK's one door to the server refuses it too: nothing can be sent there.
        Assert.Throws<InsecureServerAddressException>(() => new ServerApi(server));
    }

    [Fact]
    public void ARelativeAddress_IsRefused()
        => Assert.Throws<InsecureServerAddressException>(() => ServerAddress.EnsureSecure(new Uri("/api", UriKind.Relative)));

    [Fact]
    public async Task Enrolment_AgainstPlainHttpElsewhere_IsRefusedBeforeAnythingIsSentOrCreated()
    {
        var folder = Directory.CreateTempSubdirectory("messaging-address-");
        try
        {
            var store = Path.Combine(folder.FullName, "device.mks");
            using var passphrase = new Passphrase("une phrase secrète de test");
            await Assert.ThrowsAsync<InsecureServerAddressException>(() => MessagingClient.EnrolAsync(
                new Uri("http://messaging.example.be/"), "ABCD-EFGH", store, passphrase, new MessagingClientOptions { KeyStore = KeyStoreOptions.Interactive }));
            Assert.Empty(Directory.EnumerateFileSystemEntries(folder.FullName));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}
