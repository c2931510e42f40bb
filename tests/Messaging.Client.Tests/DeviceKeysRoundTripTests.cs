using System.Security.Cryptography;
using Messaging.Client.Storage;

namespace Messaging.Client.Tests;

/// <summary>The device state round-trips exactly — the key store's JSON and the local database's sealed rows: an absent
/// key or certificate stays absent (null), a present one keeps its bytes.</summary>
public sealed class DeviceKeysRoundTripTests
{
    private static readonly Guid Member = Guid.Parse("7d3f5c2a-1111-4a4a-9b9b-000000000001");
    private static readonly Guid Contact = Guid.Parse("7d3f5c2a-2222-4a4a-9b9b-000000000002");
    private static readonly Guid NewContact = Guid.Parse("7d3f5c2a-3333-4a4a-9b9b-000000000003");

    private static DeviceKeys NewKeys() => new()
    {
        Server = new Uri("https://relay.example"),
        DeviceId = Guid.NewGuid(),
        MemberId = Member,
        OrganisationId = Guid.NewGuid(),
        Role = "worker",
        IdentitySeed = RandomNumberGenerator.GetBytes(32),
        IdentityAgreementSecret = RandomNumberGenerator.GetBytes(32),
        StorageKey = RandomNumberGenerator.GetBytes(32),
        SignedPreKeys = [new StoredSignedPreKey(1, RandomNumberGenerator.GetBytes(32), DateTimeOffset.UnixEpoch)],
        OneTimePreKeys = new() { [1] = RandomNumberGenerator.GetBytes(32) },
        NextOneTimePreKeyId = 2,
    };

    [Fact]
    public void ADeviceStateWithoutAMemberKey_ReadsBackWithItsKeysAbsent_AndWritesTheSameBytesAgain()
    {
        var keys = NewKeys();
        keys.MemberKeys[Contact] = new MemberKeyTrust(null, null);
        var written = keys.Serialize();

        var read = DeviceKeys.Deserialize(written);

        Assert.Null(read.MemberSigningSeed);
        Assert.Null(read.MemberKeys[Contact].Logged);
        Assert.Null(read.MemberKeys[Contact].Pinned);
        Assert.Equal(written, read.Serialize());
    }

    [Fact]
    public void ADeviceStateWithMemberKeys_ReadsBackWithTheSameBytes_AndWritesTheSameBytesAgain()
    {
        var keys = NewKeys();
        var seed = RandomNumberGenerator.GetBytes(32);
        var logged = RandomNumberGenerator.GetBytes(32);
        var pinned = RandomNumberGenerator.GetBytes(32);
        var announced = RandomNumberGenerator.GetBytes(32);
        keys.MemberSigningSeed = seed;
        keys.MemberKeys[Member] = new MemberKeyTrust(logged, pinned);
        keys.MemberKeys[NewContact] = new MemberKeyTrust(announced, null);
        var written = keys.Serialize();

        var read = DeviceKeys.Deserialize(written);

        Assert.Equal(seed, read.MemberSigningSeed);
        Assert.Equal(logged, read.MemberKeys[Member].Logged);
        Assert.Equal(pinned, read.MemberKeys[Member].Pinned);
        Assert.Equal(announced, read.MemberKeys[NewContact].Logged);
        Assert.Null(read.MemberKeys[NewContact].Pinned);
        Assert.Equal(written, read.Serialize());
    }

    [Fact]
    public void AKeyLogDevice_WithAndWithoutACertificate_ReadsBackFromTheLocalDatabaseAsWritten()
    {
        var path = Path.Combine(Path.GetTempPath(), $"device-state-{Guid.NewGuid():N}.db");
        var uncertified = new KeyLogDevice(Member, RandomNumberGenerator.GetBytes(32), Active: true);
        var certified = new KeyLogDevice(Contact, RandomNumberGenerator.GetBytes(32), Active: false, RandomNumberGenerator.GetBytes(120));
        var (uncertifiedId, certifiedId) = (Guid.NewGuid(), Guid.NewGuid());
        using var sealer = new RowSealer(RandomNumberGenerator.GetBytes(32));
        try
        {
            using (var db = LocalDatabase.Open(path, sealer))
            {
                using var batch = db.Begin();
                batch.PutKeyLog(uncertifiedId, uncertified);
                batch.PutKeyLog(certifiedId, certified);
                batch.Commit();
            }

            using (var db = LocalDatabase.Open(path, sealer))
            {
                var read = db.LoadKeyLog();
                Assert.Null(read[uncertifiedId].Certificate);
                Assert.Equal(uncertified.IdentityKey, read[uncertifiedId].IdentityKey);
                Assert.Equal(certified.Certificate, read[certifiedId].Certificate);
                Assert.Equal((certified.MemberId, certified.Active), (read[certifiedId].MemberId, read[certifiedId].Active));
            }
        }
        finally
        {
            foreach (var file in new[] { path, path + "-wal", path + "-shm" })
            {
                File.Delete(file);
            }
        }
    }
}
