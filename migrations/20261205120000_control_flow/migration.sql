-- AlterTable
ALTER TABLE "node_runs" DROP CONSTRAINT "node_runs_pkey",
ADD COLUMN     "iteration" INTEGER NOT NULL DEFAULT -1,
ADD CONSTRAINT "node_runs_pkey" PRIMARY KEY ("execution_id", "node_id", "iteration");

