"""verbo from a Python script: score texts, rank them, ask what comes next, generate."""
import asyncio

import verbo


async def main() -> None:
    async with verbo.open_engine() as engine:
        score = await engine.score("la reina de inglaterra viaja en globo")
        print(f"{score.bits_per_char:.3f} bits por carácter, {score.nats:.1f} nats")

        ranking = await engine.rank(["odis", "dios", "sido"])
        print("más probable primero:", [s.text for s in ranking])

        distribution = await engine.next_distribution("Y dijo Dio")
        print("después de «Y dijo Dio»:", max(distribution, key=distribution.get))

        await engine.update("ejemplo", temperature=0.5, seed=1, length=80)
        async for chunk in engine.generate_stream("ejemplo", "Dios dijo:"):
            print(chunk, end="", flush=True)
        print()
        try:
            await engine.update("ejemplo", temperature=-1)
        except verbo.InputError as error:
            print("rechazado:", error)


if __name__ == "__main__":
    asyncio.run(main())
