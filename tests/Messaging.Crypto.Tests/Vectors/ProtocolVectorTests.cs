namespace Messaging.Crypto.Tests.Vectors;

/// <summary>The protocol vectors of docs/crypto.md, section "Test vectors": fixed inputs, exact outputs.</summary>
public sealed class ProtocolVectorTests
{
    private static readonly Dictionary<string, string> Expected = new()
    {
        ["alice.identity"] = "0103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254beb03cc1d2bb15c9cd6120d7807a9ad258f97c50c7981ceefdfcdc067ff91388552a406f17e1569de579a20dac754895ee9cace9e11c885be1d150aabb07f80c",
        ["bob.identity"] = "012543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52fe80443c7f1c3a9cc8ad89dbb33fc73199a9e98b2f8ceb394f837baa5652ade936228a7f58ffe05c3d8c2423022dbb6533845d22ad06be7cdeba76c920a751609",
        ["bob.spk.public"] = "493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d",
        ["bob.spk.signature"] = "8c8384be88ab8d1f7fe96012e4deb6982a8fb99acf294c90521f04fe1d6e6df6129257130047f9c4016b0f08e162a0f1a3e5b02acfe7021d19a26b68fe1c2f07",
        ["bob.opk.public"] = "605a725d2a4adfeeb1a29e17edd621c1b7593ee8cdbc44ac6c4ab6e2f805d23c",
        ["alice.ek.public"] = "dc2cca31e8e43bbd91dff7e475cca3347eb478107d5bd765aba4ae4a30c35d44",
        ["x3dh.sk"] = "30f886f0968d7f9aa012fbf3204a21aed970044a03336e4290ed646f399e0eb3",
        ["x3dh.ad"] = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd1662542543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f",
        ["m1"] = "02020103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254beb03cc1d2bb15c9cd6120d7807a9ad258f97c50c7981ceefdfcdc067ff91388552a406f17e1569de579a20dac754895ee9cace9e11c885be1d150aabb07f80cdc2cca31e8e43bbd91dff7e475cca3347eb478107d5bd765aba4ae4a30c35d440000000101000000024c2817a9d668ed844d2f95b93b69ecb8485095783a015a424164b0d09702894f0000000000000000f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1f1913b9959b700cc7736c8ac6bf0e00a1a76ff616567d2d0e653",
        ["m1.plaintext"] = "68656c6c6f20626f62",
        ["m2"] = "020119d80204bf85f3e1118e1b23410c88f0d0eeced5156f4c5bdf347b14ed7ec63f0000000000000000f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2ae708bf26300140e82525577b7800f4bd5eaad62af3d74622776e8",
        ["m2.plaintext"] = "68656c6c6f20616c696365",
        ["m3"] = "0201e94beb11d94ab9e25d5ed916cb5ec67b78b65727a8eecd16ebd7ed5a2efc260e0000000100000000f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f8b68a82c1e85d009a71afd2acf3e5698c97ed40a9",
        ["m3.plaintext"] = "7468697264",
    };

    [Fact]
    public void ProtocolVectors_MatchTheDocumentedBytesExactly()
    {
        var actual = ProtocolVectors.Compute();
        Assert.Equal(Expected.Keys.Order(StringComparer.Ordinal), actual.Select(v => v.Name).Order(StringComparer.Ordinal));
        foreach (var (name, hex) in actual)
        {
            Assert.True(Expected[name] == hex, $"{name}: expected {Expected[name]}, got {hex}");
        }
    }

    [Fact]
    public void ProtocolVectors_AreTheOnesInDocsCrypto()
    {
        var docs = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "crypto.md"));
        foreach (var (name, hex) in Expected)
        {
            Assert.True(docs.Contains(hex, StringComparison.Ordinal), $"docs/crypto.md does not list {name}");
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Messaging.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Messaging.sln not found above the test directory.");
    }
}
